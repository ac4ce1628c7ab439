using System.Net.Http.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using TaskManager.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace TaskManager.Tests.Board;

/// <summary>Changes made elsewhere (REST, MCP through the AppHost's mcp and api) reach an open board with the actor's name.</summary>
[Collection(BoardCollection.Name)]
public sealed class LiveUpdateTests(BoardFixture board)
{
    private readonly HttpClient _api = board.CreateApiClient();

    [Fact]
    public async Task Changes_by_other_actors_appear_live_over_rest()
    {
        var key = await _api.NewProjectAsync();
        var mine = await _api.NewTaskAsync(key, "Already here");
        var agentName = $"rest-agent-{key.ToLowerInvariant()}";
        using var agent = board.CreateApiClient(await board.CreateTokenAsync(agentName));
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.WaitForLiveAsync();

        var created = await agent.NewTaskAsync(key, "Written by an agent", new { assignee = agentName });

        var card = session.Card(created);
        await session.ExpectColumnAsync("todo", mine, created);
        await Expect(card).ToContainTextAsync("Written by an agent").Timeout();
        await Expect(card.GetByTestId("flash")).ToContainTextAsync(agentName).Timeout();
        await Expect(card.GetByTestId("agent-badge")).ToHaveTextAsync("agent").Timeout();
        await Expect(session.Card(mine).GetByTestId("flash")).ToHaveCountAsync(0).Timeout();

        await agent.MoveTaskAsync(created, new { status = "doing" });

        await session.ExpectColumnAsync("doing", created);
        await Expect(session.Card(created).GetByTestId("flash")).ToContainTextAsync(agentName).Timeout();
        var actors = await _api.GetFromJsonAsync<ActorView[]>("/api/actors", TestHelpers.Json, TestHelpers.Ct).Timeout();
        Assert.Contains(new ActorView(agentName, "agent"), actors!);
        var moved = await _api.GetTaskAsync(created);
        Assert.Equal(("doing", agentName), (moved.Status, moved.UpdatedBy));
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_dropped_stream_reconnects_and_catches_up_from_the_last_event_without_a_reload()
    {
        var key = await _api.NewProjectAsync();
        var first = await _api.NewTaskAsync(key, "Seen live");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.WaitForLiveAsync();
        await _api.PatchTaskAsync(first, """{"priority":"high"}""");
        await Expect(session.Card(first).GetByTestId("priority")).ToHaveTextAsync("high").Timeout();
        var streams = new List<string>();
        session.Page.Request += (_, request) =>
        {
            if (request.Url.Contains("/api/events?", StringComparison.Ordinal))
            {
                streams.Add(request.Url);
            }
        };
        var reachable = false;
        await session.Page.RouteAsync("**/api/events?**", route => reachable ? route.ContinueAsync() : route.AbortAsync()).Timeout();
        await session.Page.EvaluateAsync("() => { window.__sameDocument = true; }").Timeout();

        // The connection drops (and cannot come back yet) while others keep working.
        await session.Page.EvaluateAsync("() => window.stop()").Timeout();
        await Expect(session.Page.GetByTestId("live")).ToHaveTextAsync("Reconnecting…").Timeout();
        var missed = await _api.NewTaskAsync(key, "Created while the board was away");
        await _api.PatchTaskAsync(first, """{"title":"Renamed while the board was away"}""");
        reachable = true;

        await session.WaitForLiveAsync();
        await session.ExpectColumnAsync("todo", first, missed);
        await Expect(session.Card(first)).ToContainTextAsync("Renamed while the board was away").Timeout();
        Assert.True(await session.Page.EvaluateAsync<bool>("() => window.__sameDocument === true").Timeout(), "The page was reloaded.");
        Assert.Contains(streams, url => url.Contains("lastEventId=", StringComparison.Ordinal));
        session.IgnoreConsole("net::ERR_FAILED");
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Changes_by_other_actors_appear_live_over_mcp()
    {
        var key = await _api.NewProjectAsync();
        var agentName = $"mcp-agent-{key.ToLowerInvariant()}";
        var token = await board.CreateTokenAsync(agentName);
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.WaitForLiveAsync();
        await using var mcp = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = board.App.McpEndpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}" },
        }), cancellationToken: TestHelpers.Ct).Timeout();

        await CallAsync(mcp, "manage_task", new() { ["action"] = "create", ["project"] = key, ["title"] = "Filed by an agent over MCP" });

        var created = $"{key}-1";
        await session.ExpectColumnAsync("todo", created);
        await Expect(session.Card(created)).ToContainTextAsync("Filed by an agent over MCP").Timeout();
        await Expect(session.Card(created).GetByTestId("flash")).ToContainTextAsync(agentName).Timeout();

        await CallAsync(mcp, "manage_task", new() { ["action"] = "move", ["task"] = created, ["status"] = "review" });

        await session.ExpectColumnAsync("review", created);
        await Expect(session.Card(created).GetByTestId("flash")).ToContainTextAsync(agentName).Timeout();
        var task = await _api.GetTaskAsync(created);
        Assert.Equal(("review", agentName), (task.Status, task.UpdatedBy));
        session.AssertNoConsoleProblems();
    }

    private static async Task CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        Assert.True(result.IsError != true, string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text)));
    }
}
