using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aspire.Hosting;

/// <summary>Where the application's PostgreSQL comes from.</summary>
public enum PostgresMode
{
    /// <summary>
    /// A container when a container runtime is healthy and the image is on the machine or can be pulled, otherwise the
    /// local server binaries.
    /// </summary>
    Auto,
    Container,
    Local,
    /// <summary>An existing server, from the connection string <c>ConnectionStrings:tasks</c>.</summary>
    External,
}

public static class DatabaseModeExtensions
{
    /// <summary>How long <c>auto</c> lets the container runtime pull the PostgreSQL image before using the local binaries.</summary>
    private static readonly TimeSpan PullTimeout = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Adds the PostgreSQL server and database the application uses, choosing the source from the
    /// <c>Postgres:Mode</c> setting (<see cref="PostgresMode"/>). Every mode yields a resource with a connection
    /// string and a health check, so <c>WithReference(db).WaitFor(db)</c> behaves the same in all of them.
    /// Publishing always describes the container, because a local process has no meaning in a deployment.
    /// A server that fails before it is ready stops the AppHost with an error saying what to do.
    /// </summary>
    /// <remarks>
    /// Settings: <c>Postgres:Mode</c> (auto | container | local | external), <c>Postgres:ImageTag</c> (container; default:
    /// the tag Aspire pins), <c>Postgres:DataDirectory</c> (local mode; default under the user's data folder),
    /// <c>Postgres:Ephemeral</c> (true: throwaway data, removed when the AppHost stops; used by tests),
    /// <c>Postgres:BinDirectory</c> (local mode; default: the newest of /usr/lib/postgresql/*/bin).
    /// </remarks>
    public static IResourceBuilder<IResourceWithConnectionString> AddTaskDatabase(
        this IDistributedApplicationBuilder builder, string serverName, string databaseName)
    {
        var config = builder.Configuration.GetSection("Postgres");
        var mode = builder.ExecutionContext.IsPublishMode
            ? PostgresMode.Container
            : config.GetValue("Mode", PostgresMode.Auto);

        switch (mode)
        {
            case PostgresMode.Auto:
                return builder.AddAutoPostgres(serverName, databaseName, config);

            case PostgresMode.Container:
                return builder.AddContainerPostgres(serverName, config).StopAppHostWhenItFailsToStart().AddApplicationDatabase(databaseName);

            case PostgresMode.Local:
                return builder.AddLocalPostgresServer(serverName, config, config["BinDirectory"]).AddDatabase(databaseName);

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

    /// <summary>
    /// The container when the runtime is healthy and has the image or can pull it; otherwise the local binaries, saying
    /// why; with neither, an error listing the ways out. The image and tag are Aspire's own (they move with Aspire's
    /// version), so the container resource is added first to read them, and taken out again when it cannot run.
    /// </summary>
    private static IResourceBuilder<IResourceWithConnectionString> AddAutoPostgres(
        this IDistributedApplicationBuilder builder, string serverName, string databaseName, IConfigurationSection config)
    {
        // The AppHost's own logging is not built yet; this logs the same way, at once (a pull can take minutes).
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .AddConfiguration(builder.Configuration.GetSection("Logging"))
            .AddConsole());
        var logger = loggerFactory.CreateLogger("TaskManager.AppHost");

        string whyNotContainer;
        string getTheContainer;
        var runtime = ContainerRuntimeCli.FindHealthy(builder.Configuration);
        if (runtime is null)
        {
            whyNotContainer = "no container runtime (Docker or Podman) answers";
            getTheContainer = "start Docker or Podman";
        }
        else
        {
            var container = builder.AddContainerPostgres(serverName, config);
            var image = container.Resource.ImageName();
            if (runtime.HasImage(image))
            {
                return container.StopAppHostWhenItFailsToStart().AddApplicationDatabase(databaseName);
            }
            logger.LogInformation("Pulling the PostgreSQL image {Image} with {Runtime} (giving up after {Minutes} minutes)", image, runtime.Command, PullTimeout.TotalMinutes);
            var pull = runtime.Pull(image, PullTimeout);
            if (pull.Succeeded)
            {
                return container.StopAppHostWhenItFailsToStart().AddApplicationDatabase(databaseName);
            }
            builder.Resources.Remove(container.Resource);
            whyNotContainer = $"{runtime.Command} has no image {image} and could not pull it ({pull.Message})";
            getTheContainer = $"pull the image ({runtime.Command} pull {image}) and start again";
        }

        var bin = config["BinDirectory"] ?? LocalPostgresBuilderExtensions.FindServerBinaries();
        if (bin is null)
        {
            throw new DistributedApplicationException(
                $"PostgreSQL cannot start: {whyNotContainer}, and no PostgreSQL server binaries were found. Either install PostgreSQL " +
                "(Debian/Ubuntu: sudo apt-get install -y postgresql; eng/prerequisites.sh does it), " +
                $"or {getTheContainer}, or use an existing server with Postgres:Mode=external and ConnectionStrings:{databaseName}.");
        }
        if (runtime is null)
        {
            logger.LogInformation("PostgreSQL runs from the local server binaries in {Bin}: {Reason}.", bin, whyNotContainer);
        }
        else
        {
            logger.LogWarning("PostgreSQL runs from the local server binaries in {Bin}, not in a container: {Reason}. For the container, {GetIt} (or set Postgres:Mode=container).",
                bin, whyNotContainer, getTheContainer);
        }
        return builder.AddLocalPostgresServer(serverName, config, bin).AddDatabase(databaseName);
    }

    private static IResourceBuilder<LocalPostgresServerResource> AddLocalPostgresServer(
        this IDistributedApplicationBuilder builder, string name, IConfigurationSection config, string? binDirectory)
    {
        var bin = binDirectory ?? LocalPostgresBuilderExtensions.FindServerBinaries();
        return builder.AddLocalPostgres(name, bin, config["DataDirectory"], config.GetValue<bool>("Ephemeral"))
            .StopAppHostWhenStartFails(failure =>
                $"PostgreSQL from the local server binaries in {bin} {failure.What} before it was ready.{failure.LastOutputText} " +
                "Fix what its output says, or run it in a container (Postgres:Mode=container), or use an existing server " +
                "(Postgres:Mode=external with ConnectionStrings:tasks). Stopping the AppHost.");
    }

    internal static NpgsqlConnection OpenAdminConnection(string serverConnectionString) =>
        // No pooling: an idle pooled connection held by the AppHost delays the server's shutdown.
        new($"{serverConnectionString};Database=postgres;Pooling=false");
}
