using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Aspire.Hosting;

/// <summary>Where the application's PostgreSQL comes from.</summary>
public enum PostgresMode
{
    /// <summary>A container when a container runtime is healthy, otherwise the local server binaries.</summary>
    Auto,
    Container,
    Local,
    /// <summary>An existing server, from the connection string <c>ConnectionStrings:tasks</c>.</summary>
    External,
}

public static class DatabaseModeExtensions
{
    /// <summary>
    /// Adds the PostgreSQL server and database the application uses, choosing the source from the
    /// <c>Postgres:Mode</c> setting (<see cref="PostgresMode"/>). Every mode yields a resource with a connection
    /// string and a health check, so <c>WithReference(db).WaitFor(db)</c> behaves the same in all of them.
    /// Publishing always describes the container, because a local process has no meaning in a deployment.
    /// </summary>
    /// <remarks>
    /// Settings: <c>Postgres:Mode</c> (auto | container | local | external), <c>Postgres:DataDirectory</c>
    /// (local mode; default under the user's data folder), <c>Postgres:Ephemeral</c> (true: a throwaway data
    /// directory, removed when the AppHost stops; used by tests), <c>Postgres:BinDirectory</c> (local mode;
    /// default: the newest of /usr/lib/postgresql/*/bin).
    /// </remarks>
    public static IResourceBuilder<IResourceWithConnectionString> AddTaskDatabase(
        this IDistributedApplicationBuilder builder, string serverName, string databaseName)
    {
        var config = builder.Configuration.GetSection("Postgres");
        var ephemeral = config.GetValue<bool>("Ephemeral");
        var mode = builder.ExecutionContext.IsPublishMode
            ? PostgresMode.Container
            : config.GetValue("Mode", PostgresMode.Auto);

        if (mode == PostgresMode.Auto)
        {
            mode = ContainerRuntimeIsHealthy() ? PostgresMode.Container : PostgresMode.Local;
        }

        switch (mode)
        {
            case PostgresMode.Container:
                var server = builder.AddPostgres(serverName);
                if (!ephemeral && !builder.ExecutionContext.IsPublishMode)
                {
                    server.WithDataVolume();
                }
                return server.AddDatabase(databaseName);

            case PostgresMode.Local:
                return builder.AddLocalPostgres(serverName, config["BinDirectory"], config["DataDirectory"], ephemeral)
                    .AddDatabase(databaseName);

            case PostgresMode.External:
                var healthCheckKey = $"{databaseName}_external_check";
                builder.Services.AddHealthChecks().AddNpgSql(
                    _ => builder.Configuration.GetConnectionString(databaseName)
                        ?? throw new InvalidOperationException($"Postgres:Mode is external but ConnectionStrings:{databaseName} is not set."),
                    name: healthCheckKey);
                return builder.AddConnectionString(databaseName).WithHealthCheck(healthCheckKey);

            default:
                throw new InvalidOperationException($"Unknown Postgres:Mode '{mode}'. Use auto, container, local or external.");
        }
    }

    /// <summary>The probe Aspire itself uses: a runtime whose client can list containers is healthy.</summary>
    private static bool ContainerRuntimeIsHealthy()
    {
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME");
        string[] candidates = string.IsNullOrWhiteSpace(runtime) ? ["docker", "podman"] : [runtime];
        foreach (var candidate in candidates)
        {
            try
            {
                using var process = Process.Start(new ProcessStartInfo(candidate, ["container", "ls", "-n", "1"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                });
                if (process is null)
                {
                    continue;
                }
                if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
                {
                    process.Kill(entireProcessTree: true);
                    continue;
                }
                if (process.ExitCode == 0)
                {
                    return true;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed: try the next runtime.
            }
        }
        return false;
    }

    internal static NpgsqlConnection OpenAdminConnection(string serverConnectionString) =>
        // No pooling: an idle pooled connection held by the AppHost delays the server's shutdown.
        new($"{serverConnectionString};Database=postgres;Pooling=false");
}
