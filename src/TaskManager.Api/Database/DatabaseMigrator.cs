using System.Reflection;
using Npgsql;

namespace TaskManager.Api.Database;

/// <summary>
/// Applies the embedded, versioned SQL migrations (<c>Migrations/NNNN_name.sql</c>) once, in order, each in its own
/// transaction. A session-level advisory lock serialises replicas that start together: the first applies, the
/// others wait and then find nothing left to do.
/// </summary>
public sealed class DatabaseMigrator(NpgsqlDataSource dataSource, MigrationState state, ILogger<DatabaseMigrator> logger) : IHostedService
{
    // Any constant shared by every replica; "TASKMGR" in ASCII.
    private const long AdvisoryLockKey = 0x5441534B4D4752;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The database may still be coming up when a replica starts outside Aspire's WaitFor (compose, k8s).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MigrateAsync(cancellationToken);
                state.MarkApplied();
                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && attempt < 10)
            {
                logger.LogWarning(e, "Database not reachable yet (attempt {Attempt}); retrying", attempt);
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task MigrateAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        // Migrations may take long (an index on a big table), and so may waiting for another replica's: the limits the
        // api's statements live under do not apply here (RESET at the end restores them for the pool).
        await Execute(connection, "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0", ct);
        await Execute(connection, "SELECT pg_advisory_lock(@key)", ct, ("key", AdvisoryLockKey));
        try
        {
            await Execute(connection, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, ct);

            var applied = new HashSet<string>();
            await using (var read = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            foreach (var (version, sql) in EmbeddedMigrations().Where(m => !applied.Contains(m.Version)))
            {
                logger.LogInformation("Applying migration {Version}", version);
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await using (var migrate = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 })
                {
                    await migrate.ExecuteNonQueryAsync(ct);
                }
                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version) VALUES (@version)", connection, transaction))
                {
                    record.Parameters.AddWithValue("version", version);
                    await record.ExecuteNonQueryAsync(ct);
                }
                await transaction.CommitAsync(ct);
            }
            await RebaseRestoredEventsAsync(connection, ct);
        }
        finally
        {
            await Execute(connection, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", AdvisoryLockKey));
            await Execute(connection, "RESET statement_timeout; RESET lock_timeout; RESET idle_in_transaction_session_timeout", CancellationToken.None);
        }
    }

    /// <summary>
    /// Events are ordered by the id of the transaction that wrote them (0003), and transaction ids belong to one
    /// PostgreSQL cluster. A database restored from a dump into another cluster can carry ids that this cluster has
    /// not reached yet: new events would sort before them and none of them would ever be released. All of them
    /// committed long ago, so they go back to the start of the log, in id order (as events before 0003 are).
    /// </summary>
    private async Task RebaseRestoredEventsAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var rebase = new NpgsqlCommand("""
            UPDATE task_events SET xact = 0
            WHERE xact <> 0 AND EXISTS (SELECT 1 FROM task_events WHERE xact >= pg_current_xact_id()::text::bigint)
            """, connection) { CommandTimeout = 0 };
        if (await rebase.ExecuteNonQueryAsync(ct) is > 0 and var rebased)
        {
            logger.LogWarning("The event log came from another PostgreSQL cluster (a restore): {Count} events were put back in id order", rebased);
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await command.ExecuteNonQueryAsync(ct);
    }

    internal static IEnumerable<(string Version, string Sql)> EmbeddedMigrations()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        const string prefix = "TaskManager.Api.Database.Migrations.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (Path.GetFileNameWithoutExtension(name[prefix.Length..]), reader.ReadToEnd());
        }
    }
}

/// <summary>Whether this process has seen the schema fully migrated; read by the readiness check.</summary>
public sealed class MigrationState
{
    private volatile bool _applied;

    public bool Applied => _applied;

    public void MarkApplied() => _applied = true;
}
