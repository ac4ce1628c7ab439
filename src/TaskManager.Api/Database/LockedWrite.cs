using Npgsql;
using TaskManager.Api.Http;

namespace TaskManager.Api.Database;

/// <summary>
/// The shape of every change to an existing row: lock it, refuse a stale expected version before anything changes,
/// write, and commit only a finished write (together with its history event).
/// </summary>
public static class LockedWrite
{
    public static async Task<WriteResult<T>> RunAsync<T>(
        NpgsqlDataSource dataSource,
        Func<NpgsqlConnection, NpgsqlTransaction, Task<T?>> lockRow,
        Func<T, int> version,
        int? expectedVersion,
        Func<NpgsqlConnection, NpgsqlTransaction, T, Task<WriteResult<T>>> write,
        CancellationToken ct)
        where T : class
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var current = await lockRow(connection, transaction);
        if (current is null)
        {
            return new WriteResult<T>.NotFound();
        }
        if (expectedVersion is { } expected && expected != version(current))
        {
            return new WriteResult<T>.VersionMismatch(version(current));
        }
        var result = await write(connection, transaction, current);
        if (result is WriteResult<T>.Done)
        {
            await transaction.CommitAsync(ct);
        }
        return result;
    }
}
