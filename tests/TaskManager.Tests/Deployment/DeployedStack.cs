using System.Net;
using System.Net.Http.Headers;
using ModelContextProtocol.Client;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// A deployed api and mcp, however they were started (publish output, containers), seen from outside as a user sees
/// them: the board page, the REST api and an MCP client, all with the admin token.
/// </summary>
public sealed class DeployedStack(Uri api, Uri mcp, string adminToken)
{
    /// <summary>The board's page and one of its pinned libraries come from the api's own address.</summary>
    public async Task AssertBoardIsServedAsync()
    {
        using var http = new HttpClient { BaseAddress = api };

        using var page = await http.GetAsync("/", TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync(TestHelpers.Ct);
        Assert.Contains("<title>TaskManager</title>", html);
        Assert.Contains("src=\"js/app.js\"", html);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());

        foreach (var file in new[] { "/js/app.js", "/lib/standalone.module.js", "/lib/sortable.core.esm.js" })
        {
            using var script = await http.GetAsync(file, TestHelpers.Ct).Timeout();
            Assert.True(script.StatusCode == HttpStatusCode.OK, $"{file} answered {(int)script.StatusCode}.");
            Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        }
    }

    /// <summary>Creates a project and a task over REST and reads the task back; returns the project key.</summary>
    public async Task<string> CreateProjectWithTaskAsync(string title)
    {
        using var http = Client();
        var project = await http.CreateProjectAsync();
        var key = project.GetProperty("key").GetString()!;
        var task = await http.CreateTaskAsync(key, title);

        using var read = await http.GetAsync($"/api/tasks/{task.GetProperty("ref").GetString()}", TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(title, (await read.ReadJsonAsync()).GetProperty("title").GetString());
        return key;
    }

    /// <summary>The titles of a project's tasks, over REST.</summary>
    public async Task<IReadOnlyList<string>> TaskTitlesAsync(string project)
    {
        using var http = Client();
        using var response = await http.GetAsync($"/api/tasks?project={project}", TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.ReadJsonAsync()).GetProperty("items").EnumerateArray().Select(t => t.GetProperty("title").GetString()!)];
    }

    /// <summary>An MCP client over Streamable HTTP lists the tools and finds the project through a tool call.</summary>
    public async Task AssertMcpFindsProjectAsync(string project)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(mcp, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {adminToken}" },
        });
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: TestHelpers.Ct).Timeout();

        var tools = await client.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        Assert.Contains(tools, t => t.Name == "find_projects");
        var result = await client.CallToolAsync("find_projects", new Dictionary<string, object?>(), cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        Assert.NotEqual(true, result.IsError);
        var text = string.Join("\n", result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
        Assert.Contains(project, text);
    }

    private HttpClient Client()
    {
        var http = new HttpClient { BaseAddress = api };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        return http;
    }
}
