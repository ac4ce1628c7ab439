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
}
