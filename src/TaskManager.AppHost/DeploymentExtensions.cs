using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>How the services are described for a deployment.</summary>
public static class DeploymentExtensions
{
    /// <summary>Where the services listen inside their images (ASPNETCORE_HTTP_PORTS of the .NET base images and of our Dockerfiles).</summary>
    public const int ContainerPort = 8080;

    /// <summary>
    /// In the published manifest, the project's endpoints lead to <see cref="ContainerPort"/> inside its container, so a
    /// deployment (azd, or compose by hand) routes to the port the image listens on. <c>dotnet run</c> keeps the
    /// launch-profile ports: a fixed target port there would collide between parallel runs.
    /// </summary>
    public static IResourceBuilder<ProjectResource> PublishWithContainerPort(this IResourceBuilder<ProjectResource> project)
    {
        if (project.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            // Aspire adds http and https endpoints in publish mode; TLS ends in front of the container, so both lead to one port.
            project.WithEndpoint("http", endpoint => endpoint.TargetPort = ContainerPort, createIfNotExists: false)
                .WithEndpoint("https", endpoint => endpoint.TargetPort = ContainerPort, createIfNotExists: false);
        }
        return project;
    }

    /// <summary>
    /// Runs the project as several replicas when the setting asks for more than one (<c>Api:Replicas=2</c>): they share
    /// the database, the event log and token revocations, and callers reach them through one address.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReplicasFromSetting(this IResourceBuilder<ProjectResource> project, string setting)
    {
        var replicas = project.ApplicationBuilder.Configuration.GetValue(setting, 1);
        if (replicas < 1)
        {
            throw new DistributedApplicationException($"{setting} must be 1 or more (got {replicas}).");
        }
        return replicas == 1 ? project : project.WithReplicas(replicas);
    }
}
