using Npgsql;

namespace TaskManager.Api.Auth;

/// <summary>
/// Short-lived, single-use tickets for opening the event stream from a browser, whose EventSource cannot send an
/// Authorization header: the token stays out of URLs (and so out of logs, traces and history). A ticket is stored
/// hashed in the database, so any api replica can redeem it; redeeming deletes it.
/// </summary>
public sealed class StreamTickets(NpgsqlDataSource dataSource)
{
    public const string QueryName = "ticket";
    public const string StreamPath = "/api/events";
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public async Task<(string Ticket, DateTimeOffset ExpiresAt)> IssueAsync(Caller caller, CancellationToken ct)
    {
        var ticket = "tmt_" + TokenHash.NewToken()[3..];
        // Expired tickets are swept here, so the table stays as small as the number of streams being opened.
        await using var command = dataSource.CreateCommand("""
            WITH swept AS (DELETE FROM stream_tickets WHERE expires_at < now())
            INSERT INTO stream_tickets (ticket_hash, token_hash, expires_at) VALUES (@ticket, @token, now() + @lifetime)
            RETURNING expires_at
            """);
        command.Parameters.AddWithValue("ticket", TokenHash.Of(ticket));
        command.Parameters.AddWithValue("token", caller.TokenHash);
        command.Parameters.AddWithValue("lifetime", Lifetime);
        var expiresAt = (DateTime)(await command.ExecuteScalarAsync(ct))!;
        return (ticket, new DateTimeOffset(expiresAt, TimeSpan.Zero));
    }

    /// <summary>The hash of the token a valid, unused ticket was issued for; the ticket is spent either way.</summary>
    public async Task<byte[]?> RedeemAsync(string ticket, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM stream_tickets WHERE ticket_hash = @ticket RETURNING token_hash, expires_at > now()");
        command.Parameters.AddWithValue("ticket", TokenHash.Of(ticket));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) && reader.GetBoolean(1) ? reader.GetFieldValue<byte[]>(0) : null;
    }

    /// <summary>The ticket of a request that opens the event stream, if it carries one.</summary>
    public static string? ReadTicket(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Path.Equals(StreamPath, StringComparison.OrdinalIgnoreCase)
            && request.Query[QueryName].ToString() is { Length: > 0 } ticket
            ? ticket
            : null;
}
