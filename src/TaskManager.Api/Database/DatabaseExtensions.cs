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
            if (connection.MaxAutoPrepare == 0)
            {
                connection.MaxAutoPrepare = 128;
                connection.AutoPrepareMinUsages = 2;
            }
        });
        builder.Services.AddSingleton<MigrationState>();
        builder.Services.AddHostedService<DatabaseMigrator>();
        // After the migrator: hosted services start in registration order.
        builder.Services.AddSingleton<DatabaseNotifications>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DatabaseNotifications>());
        builder.Services.AddHealthChecks().AddCheck<DatabaseReadyCheck>("database");
        return builder;
    }

    private sealed class DatabaseReadyCheck(NpgsqlDataSource dataSource, MigrationState state) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!state.Applied)
            {
                return HealthCheckResult.Unhealthy("Database migrations have not been applied yet.");
            }
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("The database is not reachable.", e);
            }
        }
    }
}
