using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskManager.Api.Http;

namespace TaskManager.Api.Auth;

/// <summary>Whether a token's holder is a person or an agent; the board marks agents.</summary>
[JsonConverter(typeof(StrictEnumConverter<ActorKind>))]
public enum ActorKind { Person, Agent }

/// <summary>
/// Who a valid token belongs to: the actor name recorded in history, the scopes it was granted, whether it is a person
/// or an agent, and the token's hash (so a long-lived stream or a stream ticket can check the same token again).
/// </summary>
public sealed record Caller(string Name, string[] Scopes, ActorKind Kind, byte[] TokenHash);

/// <summary>
/// Checks a bearer token against the configured admin token and the hashed tokens in <c>api_tokens</c>
/// (revoked and expired ones are refused). Used per request, and again by long-lived event streams.
/// </summary>
public sealed class TokenValidator(IOptions<AuthOptions> auth, NpgsqlDataSource dataSource)
{
    public Task<Caller?> ValidateAsync(string token, CancellationToken ct) => ValidateHashAsync(TokenHash.Of(token), ct);

    public async Task<Caller?> ValidateHashAsync(byte[] hash, CancellationToken ct)
    {
        if (CryptographicOperations.FixedTimeEquals(hash, TokenHash.Of(auth.Value.AdminToken)))
        {
            return new Caller(auth.Value.AdminName, [Scopes.Admin], ActorKind.Person, hash);
        }

        // Touches last_used_at at most once a minute per token, so reads don't all become writes.
        await using var command = dataSource.CreateCommand("""
            WITH token AS (
                SELECT id, name, scopes, kind, last_used_at FROM api_tokens
                WHERE token_hash = @hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())),
            touched AS (
                UPDATE api_tokens SET last_used_at = now() FROM token
                WHERE api_tokens.id = token.id AND (token.last_used_at IS NULL OR token.last_used_at < now() - interval '1 minute'))
            SELECT name, scopes, kind FROM token
            """);
        command.Parameters.AddWithValue("hash", hash);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new Caller(reader.GetString(0), reader.GetFieldValue<string[]>(1), ParseKind(reader.GetString(2)), hash)
            : null;
    }

    public static ActorKind ParseKind(string kind) => kind == "person" ? ActorKind.Person : ActorKind.Agent;

    public static string KindName(ActorKind kind) => kind == ActorKind.Person ? "person" : "agent";

    /// <summary>The bearer token from the Authorization header; tokens are never read from the URL.</summary>
    public static string? ReadToken(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }
}

/// <summary>The authenticated caller of the current request.</summary>
public sealed record CallerFeature(Caller Caller);

public static class CallerExtensions
{
    /// <summary>The authenticated caller; only for endpoints that require a token.</summary>
    public static Caller Caller(this HttpContext http) =>
        http.Features.Get<CallerFeature>()?.Caller ?? throw new InvalidOperationException("The request was not authenticated with a token.");
}
