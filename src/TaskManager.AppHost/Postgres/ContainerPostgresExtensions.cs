using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Hosting;

/// <summary>PostgreSQL as Aspire's container resource, with our settings and our handling of a failed start.</summary>
internal static class ContainerPostgresExtensions
{
    /// <summary>
    /// Aspire's PostgreSQL container: its image (or <c>Postgres:ImageTag</c>), and a data volume unless
    /// <c>Postgres:Ephemeral</c>.
    /// </summary>
    public static IResourceBuilder<PostgresServerResource> AddContainerPostgres(
        this IDistributedApplicationBuilder builder, string name, IConfigurationSection config)
    {
        var server = builder.AddPostgres(name);
        if (config["ImageTag"] is { Length: > 0 } tag)
        {
            server.WithImageTag(tag);
        }
        // After the tag: Aspire mounts the data volume where that PostgreSQL version keeps its data.
        if (!config.GetValue<bool>("Ephemeral") && !builder.ExecutionContext.IsPublishMode)
        {
            server.WithDataVolume();
        }
        return server;
    }

    /// <summary>
    /// The application's database on the container, which the api signs in to as the application's role, never as the
    /// superuser. The role and database are made by the init script compose uses
    /// (<c>deploy/compose/postgres/init-taskmanager.sh</c>) when the data volume is first initialised, which is all a
    /// deployment from the manifest has; under the AppHost also by the superuser once the server is ready, which keeps
    /// the role's password in step and hands over a database an earlier version made as the superuser.
    /// </summary>
    public static IResourceBuilder<ApplicationDatabaseResource> AddApplicationDatabase(
        this IResourceBuilder<PostgresServerResource> server, string name)
    {
        var builder = server.ApplicationBuilder;
        var password = builder.AddParameter($"{server.Resource.Name}-app-password",
            new GenerateParameterDefault { MinLength = 22, Special = false }, secret: true, persist: true);
        var initScript = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "..", "deploy", "compose", "postgres", "init-taskmanager.sh"));
        server.WithEnvironment("TASKMANAGER_DB_PASSWORD", password)
            .WithBindMount(initScript, "/docker-entrypoint-initdb.d/init-taskmanager.sh", isReadOnly: true);

        var database = new ApplicationDatabaseResource(name, name, server.Resource, server.Resource.PrimaryEndpoint, password.Resource);
        builder.Eventing.Subscribe<ResourceReadyEvent>(server.Resource, async (@event, ct) =>
            await ApplicationRole.ReadyAsync(
                await server.Resource.ConnectionStringExpression.GetValueAsync(ct) ?? "", await password.Resource.GetValueAsync(ct) ?? "", [database],
                @event.Services.GetRequiredService<ResourceNotificationService>(), ct));
        return builder.AddApplicationDatabase(database);
    }

    /// <summary>
    /// Stops the AppHost when the container fails before it is ready, saying why: no healthy runtime, an image the runtime
    /// does not have and could not pull, or what the container printed before it exited.
    /// </summary>
    public static IResourceBuilder<PostgresServerResource> StopAppHostWhenItFailsToStart(this IResourceBuilder<PostgresServerResource> server)
    {
        var image = server.Resource.ImageName();
        var configuration = server.ApplicationBuilder.Configuration;
        return server.StopAppHostWhenStartFails(failure =>
        {
            var alternatives = "or run PostgreSQL from this machine's server binaries (Postgres:Mode=local; Debian/Ubuntu: sudo apt-get install -y postgresql), " +
                "or use an existing server (Postgres:Mode=external with ConnectionStrings:tasks). Stopping the AppHost.";
            var runtime = ContainerRuntimeCli.FindHealthy(configuration);
            if (failure.State == KnownResourceStates.RuntimeUnhealthy || runtime is null)
            {
                return $"PostgreSQL did not start: no container runtime is healthy, so the '{server.Resource.Name}' container ({image}) cannot run. " +
                    $"Start Docker or Podman (ASPIRE_CONTAINER_RUNTIME picks one), {alternatives}";
            }
            if (!runtime.HasImage(image))
            {
                return $"PostgreSQL did not start: the '{server.Resource.Name}' container {failure.What}: {runtime.Command} has no image {image} and could not pull it. " +
                    $"Pull it yourself to see why ({runtime.Command} pull {image}; on a test machine without registry access, " +
                    $"eng/containers/standin-images.sh postgres builds a stand-in), {alternatives}";
            }
            return $"PostgreSQL did not start: the '{server.Resource.Name}' container ({image} on {runtime.Command}) {failure.What} before it was ready.{failure.LastOutputText} " +
                $"Fix what its output says (a data volume made by another PostgreSQL major version needs Postgres:ImageTag set to that version), {alternatives}";
        });
    }

    /// <summary>The full image name the runtime runs, from Aspire's <see cref="ContainerImageAnnotation"/>.</summary>
    public static string ImageName(this PostgresServerResource server) =>
        server.TryGetContainerImageName(out var image) ? image : throw new InvalidOperationException($"'{server.Name}' has no container image.");
}
