using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TaskManager.Api.Http;
using TaskManager.Api.Text;

namespace TaskManager.Api.Auth;

public static class TokensApi
{
    public const int MaxNameLength = 64;

    /// <summary>Unknown scopes named in one problem; more say nothing new and only make the answer big.</summary>
    private const int MaxScopeErrors = 10;

    public static RouteGroupBuilder MapTokensApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/api/me").WithTags("Tokens").RequireScope(Scopes.Read).WithApiConventions()
            .MapGet("/", WhoAmI).WithName("WhoAmI").WithSummary("The actor name, kind and scopes of the calling token.");
        routes.MapGroup("/api/actors").WithTags("Tokens").RequireScope(Scopes.Read).WithApiConventions()
            .MapGet("/", ListActors).WithName("ListActors")
            .WithSummary("The actors that hold a valid token, each a person or an agent (so assignees and history can say which).");

        var group = routes.MapGroup("/api/tokens").WithTags("Tokens").RequireScope(Scopes.Admin).WithApiConventions();
        group.MapGet("/", ListTokens).WithName("ListTokens").WithSummary("Lists tokens (never their secrets).");
        group.MapPost("/", CreateToken).WithName("CreateToken").WithSummary("Creates a token; its secret is shown only in this response.");
        group.MapDelete("/{id:guid}", RevokeToken).WithName("RevokeToken").WithSummary("Revokes a token at once.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static Ok<WhoAmIDto> WhoAmI(ClaimsPrincipal user, HttpContext http) =>
        TypedResults.Ok(new WhoAmIDto(user.Actor(), [.. user.FindAll(Scopes.ClaimType).Select(c => c.Value)],
            http.Caller().Kind));

    public static async Task<Ok<ActorDto[]>> ListActors(TokenStore tokens, IOptions<AuthOptions> auth, CancellationToken ct)
    {
        var actors = (await tokens.ListHoldersAsync(ct))
            .Where(a => a.Name != auth.Value.AdminName)
            .Append(new ActorDto(auth.Value.AdminName, ActorKind.Person))
            .OrderBy(a => a.Name, StringComparer.Ordinal);
        return TypedResults.Ok(actors.ToArray());
    }

    public static async Task<Ok<TokenDto[]>> ListTokens(TokenStore tokens, CancellationToken ct) =>
        TypedResults.Ok((await tokens.ListAsync(ct)).Select(TokenDto.From).ToArray());

    public static async Task<Results<Created<CreatedTokenDto>, ValidationProblem>> CreateToken(
        CreateTokenRequest request, TokenStore tokens, ClaimsPrincipal user, CancellationToken ct)
    {
        var validation = new Validation();
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > MaxNameLength)
        {
            validation.Add("name", $"name is required (1 to {MaxNameLength} characters): the actor shown in history, e.g. claude-code.");
        }
        else
        {
            TextRules.SingleLine(request.Name, "name", validation);
        }
        var scopes = request.Scopes ?? [];
        if (scopes.Length == 0)
        {
            validation.Add("scopes", "scopes is required: one or more of read, write, admin.");
        }
        // Each unknown scope once: 10,000 copies of one typo are one error, not a problem bigger than the request.
        foreach (var scope in scopes.Where(s => !Scopes.All.Contains(s)).Distinct(StringComparer.Ordinal).Take(MaxScopeErrors))
        {
            validation.Add("scopes", $"'{scope}' is not a scope; use read, write or admin.");
        }
        if (request.ExpiresAt is { } expires && expires <= DateTimeOffset.UtcNow)
        {
            validation.Add("expiresAt", "expiresAt must be in the future.");
        }
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var (token, secret) = await tokens.CreateAsync(name, scopes, request.Kind ?? ActorKind.Agent, request.ExpiresAt, user.Actor(), ct);
        return TypedResults.Created($"/api/tokens/{token.Id}", new CreatedTokenDto(TokenDto.From(token), secret));
    }

    /// <summary>Revokes the token on every replica (<see cref="TokenStore.RevokeAsync"/>).</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeToken(Guid id, TokenStore tokens, CancellationToken ct) =>
        await tokens.RevokeAsync(id, ct) ? TypedResults.NoContent() : Problems.NotFound($"Token '{id}' does not exist.");
}
