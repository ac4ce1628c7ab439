using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>Through the real AppHost: postgres, api and mcp as Aspire runs them.</summary>
public sealed class WholeAppTests(AppFixture app)
{
    [Fact]
    public async Task Task_created_over_rest_is_found_and_updated_over_mcp_and_the_update_shows_over_rest()
    {
        var api = app.CreateApiClient();
        var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
        var created = await api.CreateTaskAsync(key, "Wire up MCP", new { labels = new[] { "mcp" } });
        await using var mcp = await ConnectMcpAsync(app.AdminToken);

        var found = await mcp.CallToolAsync("find_tasks", new Dictionary<string, object?> { ["project"] = key, ["status"] = new[] { "todo" } },
            cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        Assert.NotEqual(true, found.IsError);
        var row = JsonDocument.Parse(Text(found)).RootElement.GetProperty("tasks").EnumerateArray().Single();
        Assert.Equal($"{key}-1", row.GetProperty("ref").GetString());

        var updated = await mcp.CallToolAsync("manage_task", new Dictionary<string, object?>
        {
            ["action"] = "update",
            ["task"] = $"{key}-1",
            ["status"] = "doing",
            ["assignee"] = "claude-code",
            ["expectedVersion"] = row.GetProperty("version").GetInt32(),
        }, cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        Assert.NotEqual(true, updated.IsError);

        var seen = await api.GetFromJsonAsync<JsonElement>($"/api/tasks/{created.GetProperty("id").GetString()}", TestHelpers.Ct).Timeout();
        Assert.Equal("doing", seen.GetProperty("status").GetString());
        Assert.Equal("claude-code", seen.GetProperty("assignee").GetString());
        Assert.Equal(2, seen.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task Mcp_changes_are_attributed_to_the_callers_token()
    {
        var api = app.CreateApiClient();
        var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
        var tokenResponse = await api.PostAsJsonAsync("/api/tokens", new { name = "cursor-agent", scopes = new[] { "write" } }, TestHelpers.Ct).Timeout();
        var token = (await tokenResponse.ReadJsonAsync()).GetProperty("secret").GetString()!;
        await using var mcp = await ConnectMcpAsync(token);

        var result = await mcp.CallToolAsync("manage_task", new Dictionary<string, object?>
        {
            ["action"] = "create", ["project"] = key, ["title"] = "Made by an agent",
        }, cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.NotEqual(true, result.IsError);
        var task = await api.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal("cursor-agent", task.GetProperty("createdBy").GetString());
    }

    [Fact]
    public async Task A_stale_expected_version_is_a_tool_error_telling_the_agent_to_re_read()
    {
        var api = app.CreateApiClient();
        var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await api.CreateTaskAsync(key, "Contended");
        await api.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"title":"Changed by a person"}""");
        await using var mcp = await ConnectMcpAsync(app.AdminToken);

        var result = await mcp.CallToolAsync("manage_task", new Dictionary<string, object?>
        {
            ["action"] = "update", ["task"] = $"{key}-1", ["title"] = "Agent's title", ["expectedVersion"] = 1,
        }, cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.True(result.IsError);
        Assert.Contains("version 2", Text(result));
        var task = await api.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal("Changed by a person", task.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Bad_tool_arguments_are_tool_errors_naming_the_problem()
    {
        await using var mcp = await ConnectMcpAsync(app.AdminToken);

        var badStatus = await mcp.CallToolAsync("find_tasks", new Dictionary<string, object?> { ["status"] = new[] { "started" } },
            cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        var badAction = await mcp.CallToolAsync("manage_task", new Dictionary<string, object?> { ["action"] = "explode" },
            cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        var unknownProject = await mcp.CallToolAsync("manage_task", new Dictionary<string, object?>
        {
            ["action"] = "create", ["project"] = "NOSUCHPROJ", ["title"] = "x",
        }, cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.True(badStatus.IsError);
        Assert.Contains("started", Text(badStatus));
        Assert.True(badAction.IsError);
        Assert.Contains("explode", Text(badAction));
        Assert.True(unknownProject.IsError);
        Assert.Contains("NOSUCHPROJ", Text(unknownProject));
    }

    [Fact]
    public async Task A_change_made_over_mcp_reaches_an_open_event_stream_with_the_agents_name()
    {
        var api = app.CreateApiClient();
        var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
        var tokenResponse = await api.PostAsJsonAsync("/api/tokens", new { name = "copilot", scopes = new[] { "write" } }, TestHelpers.Ct).Timeout();
        var token = (await tokenResponse.ReadJsonAsync()).GetProperty("secret").GetString()!;
        await using var board = await Api.EventStream.OpenAsync(app.CreateApiClient(), $"/api/events?project={key}");
        await using var mcp = await ConnectMcpAsync(token);

        var result = await mcp.CallToolAsync("manage_task", new Dictionary<string, object?>
        {
            ["action"] = "create", ["project"] = key, ["title"] = "Seen live",
        }, cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.NotEqual(true, result.IsError);
        var seen = await board.NextAsync();
        Assert.Equal("task.created", seen.EventType);
        Assert.Equal("copilot", seen.Data.GetProperty("actor").GetString());
        Assert.Equal("Seen live", seen.Data.GetProperty("data").GetProperty("title").GetString());
    }

    [Fact]
    public async Task Mcp_lists_its_tools()
    {
        await using var mcp = await ConnectMcpAsync(app.AdminToken);

        var tools = await mcp.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.Contains(tools, t => t.Name == "find_tasks");
        Assert.Contains(tools, t => t.Name == "manage_task");
        Assert.All(tools, t => Assert.False(string.IsNullOrWhiteSpace(t.Description)));
    }

    [Fact]
    public async Task Mcp_refuses_a_missing_or_wrong_token()
    {
        foreach (var token in new[] { null, "not-a-real-token-123" })
        {
            var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => ConnectMcpAsync(token));
            Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        }
    }

    [Theory]
    [InlineData("Host", "evil.example.com", HttpStatusCode.BadRequest)]
    [InlineData("Origin", "http://evil.example.com", HttpStatusCode.Forbidden)]
    public async Task Mcp_refuses_foreign_hosts_and_origins(string header, string value, HttpStatusCode expected)
    {
        using var http = AppFixture.Authorize(new HttpClient(), app.AdminToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, app.McpEndpoint)
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (header == "Host")
        {
            request.Headers.Host = value;
        }
        else
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        var response = await http.SendAsync(request, TestHelpers.Ct).Timeout();

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Every_resource_is_healthy_and_the_api_answers_with_database_data()
    {
        foreach (var resource in new[] { "postgres", "tasks", "api", "mcp" })
        {
            Assert.True(app.App.ResourceNotifications.TryGetCurrentState(resource, out var state), resource);
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, state.Snapshot.HealthStatus);
        }
        var api = app.CreateApiClient();
        Assert.Equal("Healthy", await api.GetStringAsync("/health", TestHelpers.Ct).Timeout());
        var projects = await api.GetFromJsonAsync<JsonElement>("/api/projects", TestHelpers.Ct).Timeout();
        Assert.Equal(JsonValueKind.Array, projects.GetProperty("items").ValueKind);
    }

    private async Task<McpClient> ConnectMcpAsync(string? token)
    {
        var options = new HttpClientTransportOptions { Endpoint = app.McpEndpoint, TransportMode = HttpTransportMode.StreamableHttp };
        if (token is not null)
        {
            options.AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}" };
        }
        return await McpClient.CreateAsync(new HttpClientTransport(options), cancellationToken: TestHelpers.Ct).Timeout();
    }

    private static string Text(CallToolResult result) =>
        string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));
}
