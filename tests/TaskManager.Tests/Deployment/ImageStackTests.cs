using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// The real images, built from the unchanged Dockerfiles on stand-in base images, run as the compose stack by podman:
/// PostgreSQL (initialised by compose's init script), api and mcp, reached through their published ports.
/// </summary>
[Collection(DeploymentCollection.Name)]
public sealed class ImageStackTests
{
    [Fact]
    public async Task Compose_stack_of_the_built_images_serves_the_board_rest_and_mcp_and_keeps_data_across_restarts()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        await using var stack = await ComposeStackOnPodman.CreateAsync(compose);
        var adminToken = compose.Values["TASKMANAGER_ADMIN_TOKEN"];

        await stack.UpAsync();
        var deployed = new DeployedStack(stack.Address("api"), stack.Address("mcp"), adminToken);
        await deployed.AssertBoardIsServedAsync();
        var project = await deployed.CreateProjectWithTaskAsync("Shipped in an image");
        await deployed.AssertMcpFindsProjectAsync(project);

        await stack.RestartAsync("api");
        Assert.Equal(["Shipped in an image"], await deployed.TaskTitlesAsync(project));

        // compose down && compose up: new containers, the same volume.
        await stack.DownAsync();
        await stack.UpAsync();
        Assert.Equal(["Shipped in an image"], await deployed.TaskTitlesAsync(project));
        await deployed.AssertMcpFindsProjectAsync(project);
    }
}
