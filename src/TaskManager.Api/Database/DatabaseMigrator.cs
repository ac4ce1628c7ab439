using System.Reflection;
using Npgsql;

namespace TaskManager.Api.Database;

/// <summary>
/// Applies the embedded, versioned SQL migrations (<c>Migrations/NNNN_name.sql</c>) once, in order, each in its own
/// transaction. A session-level advisory lock serialises replicas that start together: the first applies, the
/// others wait and then find nothing left to do.
/// It runs in the background: the api listens at once, so that a liveness probe finds it alive while it waits for its
/// database (<c>/alive</c>), and answers everything else with 503 until the schema is ready (<see cref="StartupGate"/>).
/// </summary>
public sealed class DatabaseMigrator(NpgsqlDataSource dataSource, StartupState state, ILogger<DatabaseMigrator> logger) : BackgroundService
{
    // Any constant shared by every replica; "TASKMGR" in ASCII.
    private const long AdvisoryLockKey = 0x5441534B4D4752;

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        // The database may be coming up, or down, when a replica starts (compose, k8s, a restart of everything).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MigrateAsync(stoppingToken);
                state.MarkMigrated();
                logger.LogInformation("Database schema is up to date");
                return;
            }
            catch (Exception e) when (e is NpgsqlException { IsTransient: true } or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                if (attempt == 1 || attempt % 10 == 0)
                {
                    logger.LogWarning(e, "Database not reachable yet (attempt {Attempt}); the api answers 503 until it is", attempt);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 250 * attempt)), stoppingToken);
            }
        }
    }

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

/// <summary>
/// Whether this process is ready to serve: its schema migrated, then every start-up step that needs the tables done
/// (the event stream's starting point). Read by the readiness check and the start-up gate.
/// </summary>
public sealed class StartupState
{
    private readonly TaskCompletionSource _migrated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _steps = [];
    private Task? _ready;

    /// <summary>Completes once the schema is migrated: for work that needs the tables.</summary>
    public Task WhenMigrated => _migrated.Task;

    public Task WhenReady => _ready ??= Task.WhenAll([WhenMigrated, .. _steps]);

    public bool Ready => WhenReady.IsCompletedSuccessfully;

    public void MarkMigrated() => _migrated.TrySetResult();

    /// <summary>Adds a step readiness waits for; only while services are constructed, before anything asks.</summary>
    public void Add(Task step)
    {
        if (_ready is not null)
        {
            throw new InvalidOperationException("Start-up steps are added while the services are built.");
        }
        _steps.Add(step);
    }
}

/// <summary>Until the schema is migrated, every request but the health endpoints and the board's files gets a 503.</summary>
public static class StartupGate
{
    public static WebApplication UseStartupGate(this WebApplication app)
    {
        var state = app.Services.GetRequiredService<StartupState>();
        app.Use(async (context, next) =>
        {
            if (state.Ready || context.Request.Path.StartsWithSegments(ServiceDefaultsExtensions.HealthPath)
                || context.Request.Path.StartsWithSegments(ServiceDefaultsExtensions.AlivePath))
            {
                await next(context);
                return;
            }
            context.Response.Headers.RetryAfter = "2";
            await TypedResults.Problem("The api is starting and waiting for its database. Retry in a moment.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Starting").ExecuteAsync(context);
        });
        return app;
    }
}
