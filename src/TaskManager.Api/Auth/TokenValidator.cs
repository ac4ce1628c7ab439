using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Npgsql;

namespace TaskManager.Api.Auth;

/// <summary>Who a valid token belongs to: the actor name recorded in history, and the scopes it was granted.</summary>
public sealed record Caller(string Name, string[] Scopes);

/// <summary>
/// Checks a bearer token against the configured admin token and the hashed tokens in <c>api_tokens</c>
/// (revoked and expired ones are refused). Used per request, and again by long-lived event streams.
/// </summary>
public sealed class TokenValidator(IOptions<AuthOptions> auth, NpgsqlDataSource dataSource)
{
    private const string EventStreamPath = "/api/events";

    public async Task<Caller?> ValidateAsync(string token, CancellationToken ct)
    {
        var hash = TokenHash.Of(token);
        if (CryptographicOperations.FixedTimeEquals(hash, TokenHash.Of(auth.Value.AdminToken)))
        {
            return new Caller(auth.Value.AdminName, [Scopes.Admin]);
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
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new Caller(reader.GetString(0), reader.GetFieldValue<string[]>(1)) : null;
    }

    /// <summary>
    /// The bearer token from the Authorization header; for the event stream only, also from <c>access_token</c> in the
    /// query, because browsers' EventSource cannot send headers.
    /// </summary>
    public static string? ReadToken(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }
        return header.Length == 0 && HttpMethods.IsGet(request.Method) && request.Path.Equals(EventStreamPath, StringComparison.OrdinalIgnoreCase)
            ? request.Query["access_token"].ToString()
            : null;
    }
}
