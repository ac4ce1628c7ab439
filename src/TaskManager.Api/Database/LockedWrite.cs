using Npgsql;
using TaskManager.Api.Events;
using TaskManager.Api.Http;

namespace TaskManager.Api.Database;

/// <summary>
/// Work a write does in its own transaction just before it commits, with the row it wrote: it commits with the write
/// or not at all (the response of an idempotent request is stored this way).
/// </summary>
public delegate Task BeforeCommit<in T>(NpgsqlTransaction transaction, T row, CancellationToken ct);

/// <summary>
/// The shape of every change to an existing row: lock it (FOR NO KEY UPDATE, which lets rows that reference it be
/// inserted meanwhile), refuse a stale expected version before anything changes,
/// write, and commit only a finished write (together with its history event).
/// </summary>
public static class LockedWrite
{
    public static async Task<WriteResult<T>> RunAsync<T>(
        NpgsqlDataSource dataSource,
        EventSignal signal,
        Func<NpgsqlConnection, NpgsqlTransaction, Task<T?>> lockRow,
        Func<T, int> version,
        int? expectedVersion,
        Func<NpgsqlConnection, NpgsqlTransaction, T, Task<WriteResult<T>>> write,
        CancellationToken ct,
        string? exclusiveSection = null,
        BeforeCommit<T>? beforeCommit = null,
        Func<T, WriteResult<T>?>? refuse = null)
        where T : class
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (exclusiveSection is not null)
        {
            // Before the row lock, always: one global order of locks leaves no room for deadlocks.
            await EnterAsync(connection, transaction, exclusiveSection, ct);
        }
        var current = await lockRow(connection, transaction);
        if (current is null)
        {
            return new WriteResult<T>.NotFound();
        }
        // A refusal that does not depend on the version (a lease that is no longer the writer's) comes first: it says
        // what to do (claim again), which "someone else changed it" would not.
        if (refuse?.Invoke(current) is { } refused)
        {
            return refused;
        }
        if (expectedVersion is { } expected && expected != version(current))
        {
            return new WriteResult<T>.VersionMismatch(version(current));
        }
        var result = await write(connection, transaction, current);
        if (result is WriteResult<T>.Done done)
        {
            if (beforeCommit is not null)
            {
                await beforeCommit(transaction, done.Row, ct);
            }
            await transaction.CommitAsync(signal, ct);
        }
        return result;
    }

    /// <summary>
    /// Serialises transactions that enter the same named section (a transaction-level advisory lock, released at
    /// commit or rollback): for invariants that span rows, such as "no dependency cycles".
    /// </summary>
    public static async Task EnterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string section, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { Enter(section) } };
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary><see cref="EnterAsync"/> as a statement of a batch; it returns one row (see <see cref="Sections"/>).</summary>
    public static NpgsqlBatchCommand Enter(string section) => new(EnterSql) { Parameters = { new("section", section) } };

    /// <summary>
    /// Locks the rows <paramref name="select"/> (a <c>SELECT … FOR … UPDATE</c>) returns, as a statement of a batch of its
    /// own, so that the batch's next statements see what the writers it waited for committed. Its result is skipped
    /// like a section's (see <see cref="Sections"/>).
    /// </summary>
    public static NpgsqlBatchCommand LockRows(string select) => new(LockRowsMark + select);

    /// <summary>How many results a batch's sections and row locks return (each one of its own), ahead of its last statement.</summary>
    public static int Sections(NpgsqlBatch batch) =>
        batch.BatchCommands.Count<NpgsqlBatchCommand>(c => c.CommandText == EnterSql || c.CommandText.StartsWith(LockRowsMark, StringComparison.Ordinal));

    private const string LockRowsMark = "/* lock rows */ ";

    private const string EnterSql = "SELECT pg_advisory_xact_lock(hashtext(@section))";
}
