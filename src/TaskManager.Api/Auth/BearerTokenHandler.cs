using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace TaskManager.Api.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;token&gt;</c> with <see cref="TokenValidator"/>. Failures answer as
/// RFC 9457 problems.
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenValidator validator,
    StreamTickets tickets,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    private const string NoTokenItem = "auth:no-token";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TokenValidator.ReadToken(Request) is { Length: > 0 } token)
        {
            return await validator.ValidateAsync(token, Context.RequestAborted) is { } caller
                ? Success(caller)
                : AuthenticateResult.Fail("The bearer token is unknown, revoked or expired.");
        }
        if (StreamTickets.ReadTicket(Request) is { } ticket)
        {
            return await tickets.RedeemAsync(ticket, Context.RequestAborted) is { } tokenHash
                && await validator.ValidateHashAsync(tokenHash, Context.RequestAborted) is { } caller
                ? Success(caller)
                : AuthenticateResult.Fail("The stream ticket is unknown, used or expired.");
        }
        Context.Items[NoTokenItem] = true;
        return AuthenticateResult.NoResult();
    }

    private AuthenticateResult Success(Caller caller)
    {
        Context.Features.Set(new CallerFeature(caller));
        var claims = new List<Claim> { new(ClaimTypes.Name, caller.Name) };
        claims.AddRange(Scopes.Implied(caller.Scopes).Select(s => new Claim(Scopes.ClaimType, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblem(StatusCodes.Status401Unauthorized, "Unauthorized", Context.Items.ContainsKey(NoTokenItem)
            ? "Send a bearer token: Authorization: Bearer <token>."
            : StreamTickets.ReadTicket(Request) is not null
                ? "The stream ticket is unknown, used or expired: ask POST /api/events/tickets for a new one."
                : "The bearer token is unknown, revoked or expired.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblem(StatusCodes.Status403Forbidden, "Forbidden",
            $"The token of '{Context.User.Identity?.Name}' lacks the scope this operation needs ({Context.GetEndpoint()?.Metadata.GetMetadata<RequiredScopeMetadata>()?.Scope ?? "admin"}).");

    private async Task WriteProblem(int status, string title, string detail)
    {
        Response.StatusCode = status;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}

/// <summary>Tokens are random and long, so a plain SHA-256 is a sound way to store and compare them.</summary>
public static class TokenHash
{
    public static byte[] Of(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static string NewToken() => "tm_" + Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    /// <summary>Whether <paramref name="token"/> could be one <see cref="NewToken"/> made: no other can be valid.</summary>
    public static bool HasIssuedShape(string token) =>
        token.Length == IssuedLength && token.StartsWith("tm_", StringComparison.Ordinal)
        && token.AsSpan(3).IndexOfAnyExcept(Base64UrlCharacters) < 0;

    // "tm_" and 32 random bytes in unpadded base64url.
    private const int IssuedLength = 3 + 43;
    private static readonly System.Buffers.SearchValues<char> Base64UrlCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Names the scope an endpoint group requires, so a 403 can say which one was missing.</summary>
public sealed record RequiredScopeMetadata(string Scope);
