using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Http;

namespace TaskManager.Api.Auth;

public sealed record TokenDto(
    Guid Id, string Name, string[] Scopes, ActorKind Kind, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>The only response that ever contains a token's secret value.</summary>
public sealed record CreatedTokenDto(TokenDto Token, string Secret);

/// <summary>A new token; <see cref="Kind"/> says whether its holder is a person or an agent (default: agent).</summary>
public sealed record CreateTokenRequest([property: Required] string? Name, [property: Required] string[]? Scopes, DateTimeOffset? ExpiresAt, ActorKind? Kind);

public sealed record WhoAmIDto(string Name, string[] Scopes, ActorKind Kind);

/// <summary>A name that changes are recorded under, and whether it is a person or an agent.</summary>
public sealed record ActorDto(string Name, ActorKind Kind);

public static class TokensApi
{
    public const int MaxNameLength = 64;

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

    public static async Task<Ok<ActorDto[]>> ListActors(NpgsqlDataSource dataSource, IOptions<AuthOptions> auth, CancellationToken ct)
    {
        // A name held by tokens of both kinds counts as an agent ('agent' > 'person'): calling an agent's work a
        // person's would mislead more than the reverse.
        await using var command = dataSource.CreateCommand("""
            SELECT name, max(kind) FROM api_tokens
            WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            GROUP BY name
            """);
        var actors = (await command.ReadAllAsync(r => new ActorDto(r.GetString(0), TokenValidator.ParseKind(r.GetString(1))), ct))
            .Where(a => a.Name != auth.Value.AdminName)
            .Append(new ActorDto(auth.Value.AdminName, ActorKind.Person))
            .OrderBy(a => a.Name, StringComparer.Ordinal);
        return TypedResults.Ok(actors.ToArray());
    }

    public static async Task<Ok<TokenDto[]>> ListTokens(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, name, scopes, kind, expires_at, last_used_at, revoked_at, created_at, created_by FROM api_tokens ORDER BY created_at, id");
        return TypedResults.Ok((await command.ReadAllAsync(Read, ct)).ToArray());
    }

    public static async Task<Results<Created<CreatedTokenDto>, ValidationProblem>> CreateToken(
        CreateTokenRequest request, NpgsqlDataSource dataSource, ClaimsPrincipal user, CancellationToken ct)
    {
        var validation = new Validation();
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > MaxNameLength)
        {
            validation.Add("name", $"name is required (1 to {MaxNameLength} characters): the actor shown in history, e.g. claude-code.");
        }
        var scopes = request.Scopes ?? [];
        if (scopes.Length == 0)
        {
            validation.Add("scopes", "scopes is required: one or more of read, write, admin.");
        }
        foreach (var scope in scopes.Where(s => !Scopes.All.Contains(s)))
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

        var secret = TokenHash.NewToken();
        await using var command = dataSource.CreateCommand("""
            INSERT INTO api_tokens (id, name, token_hash, scopes, kind, expires_at, created_by)
            VALUES (@id, @name, @hash, @scopes, @kind, @expires_at, @actor)
            RETURNING id, name, scopes, kind, expires_at, last_used_at, revoked_at, created_at, created_by
            """);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("hash", TokenHash.Of(secret));
        command.Parameters.AddWithValue("scopes", scopes.Distinct().ToArray());
        command.Parameters.AddWithValue("kind", TokenValidator.KindName(request.Kind ?? ActorKind.Agent));
        command.Parameters.AddWithValue("expires_at", NpgsqlDbType.TimestampTz, (object?)request.ExpiresAt?.ToUniversalTime() ?? DBNull.Value);
        command.Parameters.AddWithValue("actor", user.Actor());
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var token = Read(reader);
        return TypedResults.Created($"/api/tokens/{token.Id}", new CreatedTokenDto(token, secret));
    }

    /// <summary>
    /// Revokes the token. A trigger tells every replica to drop it from its cache when this commits (migration 0005);
    /// this replica drops it at once, before answering.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeToken(
        Guid id, NpgsqlDataSource dataSource, TokenValidator validator, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = @id RETURNING encode(token_hash, 'hex')");
        command.Parameters.AddWithValue("id", id);
        if (await command.ExecuteScalarAsync(ct) is not string hashHex)
        {
            return Problems.NotFound($"Token '{id}' does not exist.");
        }
        validator.Forget(hashHex);
        return TypedResults.NoContent();
    }

    private static TokenDto Read(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetFieldValue<string[]>(2), TokenValidator.ParseKind(r.GetString(3)),
        r.IsDBNull(4) ? null : r.GetFieldValue<DateTimeOffset>(4), r.IsDBNull(5) ? null : r.GetFieldValue<DateTimeOffset>(5),
        r.IsDBNull(6) ? null : r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7), r.GetString(8));
}
