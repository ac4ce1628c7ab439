using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace TaskManager.Api.Database;

public static class DatabaseExtensions
{
    public const string ConnectionName = "tasks";

    /// <summary>
    /// The Npgsql data source (with its tracing and metrics) and the start-up migration. Readiness
    /// (<c>/health</c>) requires both a reachable database and an applied schema.
    /// </summary>
    public static WebApplicationBuilder AddDatabase(this WebApplicationBuilder builder)
    {
        // Aspire.Npgsql registers its own reachability check; ours also requires the migrated schema.
        builder.AddNpgsqlDataSource(ConnectionName, settings => settings.DisableHealthChecks = true, dataSource =>
        {
            // Every statement the api sends is one of a few dozen texts: prepared once per connection, PostgreSQL plans
            // them once instead of on every execution (for single-row reads, planning cost more than running).
            // A connection string that sets these itself wins.
            var connection = dataSource.ConnectionStringBuilder;
            // What the connection string itself says (NpgsqlConnectionStringBuilder.ContainsKey is true for any
            // keyword it knows).
            var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connection.ConnectionString };
            if (connection.MaxAutoPrepare == 0)
            {
                connection.MaxAutoPrepare = 128;
                connection.AutoPrepareMinUsages = 2;
            }
            // A database that is down or does not answer becomes a 503 within seconds, not a request hanging for the
            // driver's defaults (15 s to connect or wait for a pooled connection, 30 s per command). Statements take
            // milliseconds, but a write may queue for a lock behind others (dependency changes share one section):
            // the command limit leaves room for that. The migrator lifts the limits for itself. Against a frozen
            // server (SIGSTOP) a new connection gives up after 1 s, a pooled one after about 4 s (the 3 s command
            // timeout, then Npgsql's cancel request to the frozen server waits out another connect timeout for its
            // answer to the SSL request).
            if (!given.ContainsKey("Timeout"))
            {
                connection.Timeout = 1;
            }
            if (!given.ContainsKey("Command Timeout"))
            {
                connection.CommandTimeout = 3;
            }
            if (!given.ContainsKey("Cancellation Timeout"))
            {
                connection.CancellationTimeout = -1;
            }
            // Npgsql prefers GSS (Kerberos) encryption by default and asks the server for it on every new connection,
            // cancel requests included: against a server that does not answer, that asking alone costs a connect
            // timeout (a frozen server's 503 took 5 s instead of 4). Kerberos setups say so in the connection string.
            if (!given.ContainsKey("GSS Encryption Mode"))
            {
                connection.GssEncryptionMode = GssEncryptionMode.Disable;
            }
            // A paused or partitioned writer cannot hold others up for long: waiting for a lock (answered as a 503
            // "busy" before the client gives up), a statement or an idle transaction is bounded on the server too.
            if (!given.ContainsKey("Options"))
            {
                connection.Options = "-c lock_timeout=2500ms -c statement_timeout=5s -c idle_in_transaction_session_timeout=10s";
            }
            // The api leaves no session state on a pooled connection (the migrator and the listener undo theirs), so
            // handing one out needs no reset: without this, Npgsql sends seven reset statements with every checkout
            // (a noisy probe: gets 2,171 -> 3,624 req/s).
            if (!given.ContainsKey("No Reset On Close"))
            {
                connection.NoResetOnClose = true;
            }
            // Notices a server that vanished without closing the connection (the listener sits idle for long).
            if (!given.ContainsKey("Keepalive"))
            {
                connection.KeepAlive = 5;
            }
        });
        builder.Services.AddSingleton<StartupState>();
        builder.Services.AddHostedService<DatabaseMigrator>();
        // After the migrator: hosted services start in registration order.
        builder.Services.AddSingleton<DatabaseNotifications>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DatabaseNotifications>());
        builder.Services.AddHealthChecks().AddCheck<DatabaseReadyCheck>("database");
        return builder;
    }

    private sealed class DatabaseReadyCheck(NpgsqlDataSource dataSource, StartupState state) : IHealthCheck
    {
        private static readonly TimeSpan HealthDeadline = TimeSpan.FromSeconds(1.5);

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!state.Ready)
            {
                return HealthCheckResult.Unhealthy("Starting: the database schema is not migrated yet.");
            }
            // Unhealthy within about a second and a half when the database does not answer at all.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(HealthDeadline);
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(deadline.Token);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return HealthCheckResult.Unhealthy("The database is not reachable.", e);
            }
        }
    }
}
