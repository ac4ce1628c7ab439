using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace TaskManager.Api.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;token&gt;</c> against the configured admin token and the hashed
/// tokens in <c>api_tokens</c> (revoked and expired ones are refused). Failures answer as RFC 9457 problems.
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AuthOptions> auth,
    NpgsqlDataSource dataSource,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    private const string NoTokenItem = "auth:no-token";
    private const string EventStreamPath = "/api/events";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (ReadToken() is not { Length: > 0 } token)
        {
            Context.Items[NoTokenItem] = true;
            return AuthenticateResult.NoResult();
        }

        var hash = TokenHash.Of(token);
        if (CryptographicOperations.FixedTimeEquals(hash, TokenHash.Of(auth.Value.AdminToken)))
        {
            return Success(auth.Value.AdminName, [Scopes.Admin]);
        }

        // Touches last_used_at at most once a minute per token, so reads don't all become writes.
        await using var command = dataSource.CreateCommand("""
            WITH token AS (
                SELECT id, name, scopes, last_used_at FROM api_tokens
                WHERE token_hash = @hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())),
            touched AS (
                UPDATE api_tokens SET last_used_at = now() FROM token
                WHERE api_tokens.id = token.id AND (token.last_used_at IS NULL OR token.last_used_at < now() - interval '1 minute'))
            SELECT name, scopes FROM token
            """);
        command.Parameters.AddWithValue("hash", hash);
        await using var reader = await command.ExecuteReaderAsync(Context.RequestAborted);
        return await reader.ReadAsync(Context.RequestAborted)
            ? Success(reader.GetString(0), reader.GetFieldValue<string[]>(1))
            : AuthenticateResult.Fail("The bearer token is unknown, revoked or expired.");
    }

    /// <summary>
    /// The bearer token from the Authorization header; for the event stream only, also from <c>access_token</c> in the
    /// query, because browsers' EventSource cannot send headers.
    /// </summary>
    private string? ReadToken()
    {
        string header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }
        return header.Length == 0 && HttpMethods.IsGet(Request.Method) && Request.Path.Equals(EventStreamPath, StringComparison.OrdinalIgnoreCase)
            ? Request.Query["access_token"].ToString()
            : null;
    }

    private AuthenticateResult Success(string name, string[] scopes)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        claims.AddRange(Scopes.Implied(scopes).Select(s => new Claim(Scopes.ClaimType, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblem(StatusCodes.Status401Unauthorized, "Unauthorized", Context.Items.ContainsKey(NoTokenItem)
            ? "Send a bearer token: Authorization: Bearer <token>."
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

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Names the scope an endpoint group requires, so a 403 can say which one was missing.</summary>
public sealed record RequiredScopeMetadata(string Scope);
