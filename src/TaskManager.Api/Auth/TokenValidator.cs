using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskManager.Api.Database;
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
/// <remarks>
/// Answers are cached for <see cref="CacheFor"/>, the unknown tokens too, apart (so a flood of bad tokens does not
/// become a flood of queries, nor push the good ones out), and anything not shaped like an issued token is refused
/// without a lookup; but only while this replica hears database notifications: a revocation on any replica
/// NOTIFYs every other one, which drops the token at once, and a replica that cannot hear drops its whole cache and
/// asks the database every time until it hears again. <c>last_used_at</c> is written with the lookup that fills the
/// cache, and after that at most once a minute, off the request path.
/// </remarks>
public sealed class TokenValidator
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan TouchEvery = TimeSpan.FromMinutes(1);
    private const int MaxCachedTokens = 10_000;

    private readonly IOptions<AuthOptions> _auth;
    private readonly NpgsqlDataSource _dataSource;
    private readonly DatabaseNotifications _notifications;
    private readonly ILogger<TokenValidator> _logger;
    private readonly byte[] _adminHash;
    private readonly ConcurrentDictionary<string, Cached> _cache = new();
    private readonly ConcurrentDictionary<string, Cached> _unknown = new();
    // Bumped by every revocation and reconnection: a lookup that started before one must not cache what it read.
    private long _generation;

    private sealed record Cached(Caller? Caller, DateTimeOffset? ExpiresAt, DateTimeOffset CachedAt)
    {
        public DateTimeOffset LastTouched { get; set; } = CachedAt;
    }

    public TokenValidator(IOptions<AuthOptions> auth, NpgsqlDataSource dataSource, DatabaseNotifications notifications, ILogger<TokenValidator> logger)
    {
        (_auth, _dataSource, _notifications, _logger) = (auth, dataSource, notifications, logger);
        _adminHash = TokenHash.Of(auth.Value.AdminToken);
        notifications.Received += (channel, payload) =>
        {
            if (channel == DatabaseNotifications.TokensChannel)
            {
                Forget(payload);
            }
        };
        notifications.Connected += () => Forget(null);
    }

    public Task<Caller?> ValidateAsync(string token, CancellationToken ct)
    {
        var hash = TokenHash.Of(token);
        return TokenHash.HasIssuedShape(token) || CryptographicOperations.FixedTimeEquals(hash, _adminHash)
            ? ValidateHashAsync(hash, ct)
            : Task.FromResult<Caller?>(null);
    }

    public async Task<Caller?> ValidateHashAsync(byte[] hash, CancellationToken ct)
    {
        if (CryptographicOperations.FixedTimeEquals(hash, _adminHash))
        {
            return new Caller(_auth.Value.AdminName, [Scopes.Admin], ActorKind.Person, hash);
        }

        var key = Convert.ToHexString(hash);
        var now = DateTimeOffset.UtcNow;
        if (_notifications.IsListening && (_cache.TryGetValue(key, out var cached) || _unknown.TryGetValue(key, out cached))
            && now - cached.CachedAt < CacheFor)
        {
            if (cached.ExpiresAt is { } expiresAt && expiresAt <= now)
            {
                return null;
            }
            if (cached.Caller is not null && now - cached.LastTouched >= TouchEvery)
            {
                cached.LastTouched = now;
                _ = TouchAsync(hash);
            }
            return cached.Caller;
        }

        var generation = Interlocked.Read(ref _generation);
        var listening = _notifications.IsListening;
        // Touches last_used_at at most once a minute per token, so reads don't all become writes.
        await using var command = _dataSource.CreateCommand("""
            WITH token AS (
                SELECT id, name, scopes, kind, expires_at, last_used_at FROM api_tokens
                WHERE token_hash = @hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())),
            touched AS (
                UPDATE api_tokens SET last_used_at = now() FROM token
                WHERE api_tokens.id = token.id AND (token.last_used_at IS NULL OR token.last_used_at < now() - interval '1 minute'))
            SELECT name, scopes, kind, expires_at FROM token
            """);
        command.Parameters.AddWithValue("hash", hash);
        Caller? caller = null;
        DateTimeOffset? expires = null;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            if (await reader.ReadAsync(ct))
            {
                caller = new Caller(reader.GetString(0), reader.GetFieldValue<string[]>(1), ParseKind(reader.GetString(2)), hash);
                expires = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3);
            }
        }
        if (listening && Interlocked.Read(ref _generation) == generation)
        {
            var cache = caller is null ? _unknown : _cache;
            if (cache.Count >= MaxCachedTokens)
            {
                cache.Clear();
            }
            cache[key] = new Cached(caller, expires, now);
            // A revocation that arrived between the check and the insert: take the answer back.
            if (Interlocked.Read(ref _generation) != generation)
            {
                cache.TryRemove(key, out _);
            }
        }
        return caller;
    }

    /// <summary>Drops one token (its hash in hex) from the cache, or all of them.</summary>
    public void Forget(string? hashHex)
    {
        Interlocked.Increment(ref _generation);
        if (hashHex is null)
        {
            _cache.Clear();
            _unknown.Clear();
        }
        else
        {
            _cache.TryRemove(hashHex.ToUpperInvariant(), out _);
            _unknown.TryRemove(hashHex.ToUpperInvariant(), out _);
        }
    }

    private async Task TouchAsync(byte[] hash)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("""
                UPDATE api_tokens SET last_used_at = now()
                WHERE token_hash = @hash AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
                """);
            command.Parameters.AddWithValue("hash", hash);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            _logger.LogDebug(e, "Could not record when a token was last used");
        }
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
