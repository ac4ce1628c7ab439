using System.Net.Http.Json;
using System.Text.RegularExpressions;
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
    public async Task A_claimed_card_shows_its_lease_holder_time_left_and_heartbeat_and_says_when_the_lease_expired()
    {
        var key = await _api.NewProjectAsync();
        var leased = await _api.NewTaskAsync(key, "Leased to an agent");
        var abandoned = await _api.NewTaskAsync(key, "Abandoned by an agent");
        var agentName = $"lease-agent-{key.ToLowerInvariant()}";
        using var agent = board.CreateApiClient(await board.CreateTokenAsync(agentName));
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.WaitForLiveAsync();

        var first = await agent.PostAsJsonAsync("/api/tasks/claim", new { project = key, leaseSeconds = 600 }, TestHelpers.Ct).Timeout();
        var second = await agent.PostAsJsonAsync("/api/tasks/claim", new { project = key, leaseSeconds = 2 }, TestHelpers.Ct).Timeout();
        Assert.True(first.IsSuccessStatusCode && second.IsSuccessStatusCode);

        var lease = session.Card(leased).GetByTestId("lease");
        await Expect(lease).ToContainTextAsync(agentName).Timeout();
        await Expect(lease.GetByTestId("lease-left")).ToHaveTextAsync(new Regex(@"^(9|10) min left$")).Timeout();
        await Expect(lease.GetByTestId("lease-heartbeat")).ToHaveTextAsync("beat just now").Timeout();

        // Nobody reads the abandoned task: the sweep returns it to todo, and the card says whose lease ran out.
        await Expect(session.Card(abandoned).GetByTestId("lease-expired"))
            .ToContainTextAsync($"{agentName}'s lease expired", new() { Timeout = 20000 }).Timeout();
        await session.ExpectColumnAsync("todo", abandoned);
        await Expect(session.Card(abandoned).GetByTestId("lease")).ToHaveCountAsync(0).Timeout();
        await session.ScreenshotAsync("lease.png");
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

    [Fact]
    public async Task A_subtask_created_elsewhere_updates_its_parents_progress()
    {
        var key = await _api.NewProjectAsync();
        var parent = await _api.NewTaskAsync(key, "Parent");
        await using var session = await OpenLiveAsync(key);

        var child = await _api.NewTaskAsync(key, "Child", new { parent });

        await Expect(session.Card(child)).ToBeVisibleAsync().Timeout();
        await Expect(session.Card(parent)).ToContainTextAsync("☑ 0/1").Timeout();
        await _api.MoveTaskAsync(child, new { status = "done" });
        await session.ExpectColumnAsync("done", child);
        await Expect(session.Card(parent)).ToContainTextAsync("☑ 1/1").Timeout();
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Finishing_and_reopening_a_blocker_updates_the_blocked_marker_live()
    {
        var key = await _api.NewProjectAsync();
        var blocker = await _api.NewTaskAsync(key, "A");
        var blocked = await _api.NewTaskAsync(key, "B");
        await _api.AddBlockerAsync(blocked, blocker);
        await using var session = await OpenLiveAsync(key);

        await ExpectMarkerToFollowBlockerAsync(session, blocked, blocker);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_blocker_in_another_project_updates_the_blocked_marker_live()
    {
        var key = await _api.NewProjectAsync();
        var blocker = await _api.NewTaskAsync(await _api.NewProjectAsync(), "A elsewhere");
        var blocked = await _api.NewTaskAsync(key, "B");
        await _api.AddBlockerAsync(blocked, blocker);
        await using var session = await OpenLiveAsync(key);

        await ExpectMarkerToFollowBlockerAsync(session, blocked, blocker);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_column_renumbered_by_the_server_keeps_the_board_in_the_api_order()
    {
        var key = await _api.NewProjectAsync();
        var first = await _api.NewTaskAsync(key, "First");
        var last = await _api.NewTaskAsync(key, "Last");
        var movers = new[] { await _api.NewTaskAsync(key, "X"), await _api.NewTaskAsync(key, "Y") };
        await using var session = await OpenLiveAsync(key);

        // X and Y take turns just after First: each move halves the gap and adds a decimal digit to the position, until
        // past 100 digits the api renumbers the whole column (the moved task's position is whole again).
        var renumbered = false;
        for (var i = 0; i < 150 && !renumbered; i++)
        {
            renumbered = await MoveJustAfterAsync(movers[i % 2], first);
        }
        Assert.True(renumbered, "The api never renumbered the column.");

        var column = await _api.ColumnAsync(key, "todo");
        Assert.Equal((4, first, last), (column.Length, column[0], column[^1]));
        await session.ExpectColumnAsync("todo", column);
        session.AssertNoConsoleProblems();
    }

    /// <summary>The board of <paramref name="key"/> with its live stream open.</summary>
    private async Task<BoardSession> OpenLiveAsync(string key)
    {
        var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.WaitForLiveAsync();
        return session;
    }

    /// <summary>Finishes <paramref name="blocker"/> and reopens it over REST: the blocked card's marker goes and comes back.</summary>
    private async Task ExpectMarkerToFollowBlockerAsync(BoardSession session, string blocked, string blocker)
    {
        var marker = session.Card(blocked).GetByTestId("blocked");
        await Expect(marker).ToHaveTextAsync($"Blocked by {blocker}").Timeout();

        await _api.MoveTaskAsync(blocker, new { status = "done" });
        await Expect(marker).ToHaveCountAsync(0).Timeout();

        await _api.MoveTaskAsync(blocker, new { status = "todo" });
        await Expect(marker).ToHaveTextAsync($"Blocked by {blocker}").Timeout();
    }

    /// <summary>Moves <paramref name="task"/> just after <paramref name="anchor"/>; true when its new position is a whole number.</summary>
    private async Task<bool> MoveJustAfterAsync(string task, string anchor)
    {
        var response = await _api.PostAsJsonAsync($"/api/tasks/{task}/move", new { after = anchor }, TestHelpers.Ct).Timeout();
        Assert.True(response.IsSuccessStatusCode, $"Moving {task}: {(int)response.StatusCode}");
        var moved = await response.Content.ReadFromJsonAsync<PositionView>(TestHelpers.Json, TestHelpers.Ct).Timeout();
        return !moved!.Position.Contains('.', StringComparison.Ordinal);
    }

    private sealed record PositionView(string Position);

    private static async Task CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        Assert.True(result.IsError != true, string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text)));
    }
}
