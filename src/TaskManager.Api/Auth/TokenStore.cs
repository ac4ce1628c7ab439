using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;

namespace TaskManager.Api.Auth;

/// <summary>SQL for the tokens in <c>api_tokens</c> (only their hashes are stored); <see cref="TokenValidator"/> checks them.</summary>
public sealed class TokenStore(NpgsqlDataSource dataSource, TokenValidator validator)
{
    private const string Columns = "id, name, scopes, kind, expires_at, last_used_at, revoked_at, created_at, created_by";

    private static TokenRow Read(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetFieldValue<string[]>(2), TokenValidator.ParseKind(r.GetString(3)),
        r.IsDBNull(4) ? null : r.GetFieldValue<DateTimeOffset>(4), r.IsDBNull(5) ? null : r.GetFieldValue<DateTimeOffset>(5),
        r.IsDBNull(6) ? null : r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7), r.GetString(8));

    /// <summary>Every name that holds a valid token, once, with the kind of actor it is.</summary>
    public async Task<List<ActorDto>> ListHoldersAsync(CancellationToken ct)
    {
        // A name held by tokens of both kinds counts as an agent ('agent' > 'person'): calling an agent's work a
        // person's would mislead more than the reverse.
        await using var command = dataSource.CreateCommand("""
            SELECT name, max(kind) FROM api_tokens
            WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            GROUP BY name
            """);
        return await command.ReadAllAsync(r => new ActorDto(r.GetString(0), TokenValidator.ParseKind(r.GetString(1))), ct);
    }

    public async Task<List<TokenRow>> ListAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM api_tokens ORDER BY created_at, id");
        return await command.ReadAllAsync(Read, ct);
    }

    /// <summary>Creates a token with a new secret; the secret is returned here and never stored, only its hash.</summary>
    public async Task<(TokenRow Token, string Secret)> CreateAsync(
        string name, string[] scopes, ActorKind kind, DateTimeOffset? expiresAt, string actor, CancellationToken ct)
    {
        var secret = TokenHash.NewToken();
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO api_tokens (id, name, token_hash, scopes, kind, expires_at, created_by)
            VALUES (@id, @name, @hash, @scopes, @kind, @expires_at, @actor)
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("hash", TokenHash.Of(secret));
        command.Parameters.AddWithValue("scopes", scopes.Distinct().ToArray());
        command.Parameters.AddWithValue("kind", TokenValidator.KindName(kind));
        command.Parameters.AddWithValue("expires_at", NpgsqlDbType.TimestampTz, (object?)expiresAt?.ToUniversalTime() ?? DBNull.Value);
        command.Parameters.AddWithValue("actor", actor);
        return ((await command.ReadFirstOrDefaultAsync(Read, ct))!, secret);
    }

    /// <summary>
    /// Revokes the token; false when there is none. A trigger tells every replica to drop it from its cache when this
    /// commits (migration 0005); this replica drops it at once, before returning.
    /// </summary>
    public async Task<bool> RevokeAsync(Guid id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = @id RETURNING encode(token_hash, 'hex')");
        command.Parameters.AddWithValue("id", id);
        if (await command.ExecuteScalarAsync(ct) is not string hashHex)
        {
            return false;
        }
        validator.Forget(hashHex);
        return true;
    }
}
