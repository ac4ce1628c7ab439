using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class MoveTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task Moving_before_and_after_neighbours_reorders_the_column_without_touching_other_tasks()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        foreach (var title in new[] { "A", "B", "C", "D" })
        {
            await _client.CreateTaskAsync(key, title);
        }

        await MoveAsync($"{key}-4", new { before = $"{key}-1" });   // D A B C
        await MoveAsync($"{key}-1", new { after = $"{key}-3" });    // D B C A

        Assert.Equal(["D", "B", "C", "A"], await ColumnAsync(key, "todo"));
        var others = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout();
        Assert.All(others.GetProperty("items").EnumerateArray().Where(t => t.GetProperty("title").GetString() is "B" or "C"),
            t => Assert.Equal(1, t.GetProperty("version").GetInt32()));
    }

    [Fact]
    public async Task Moving_across_columns_places_the_task_beside_its_new_neighbour()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Todo");
        await _client.CreateTaskAsync(key, "Review 1", new { status = "review" });
        await _client.CreateTaskAsync(key, "Review 2", new { status = "review" });

        var moved = await MoveAsync($"{key}-1", new { status = "review", after = $"{key}-2" });
        var toEnd = await MoveAsync($"{key}-2", new { status = "done" });

        Assert.Equal("review", moved.GetProperty("status").GetString());
        Assert.Equal(["Todo", "Review 2"], await ColumnAsync(key, "review"));
        Assert.Equal("done", toEnd.GetProperty("status").GetString());
        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/history", TestHelpers.Ct).Timeout();
        var move = history.GetProperty("items").EnumerateArray().Last();
        Assert.Equal("task.moved", move.GetProperty("kind").GetString());
        Assert.Equal("todo", move.GetProperty("data").GetProperty("status").GetProperty("old").GetString());
        Assert.Equal("review", move.GetProperty("data").GetProperty("status").GetProperty("new").GetString());
        Assert.Equal($"{key}-2", move.GetProperty("data").GetProperty("after").GetString());
    }

    [Fact]
    public async Task A_hundred_and_fifty_moves_into_the_same_gap_keep_an_exact_order()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "First");
        await _client.CreateTaskAsync(key, "Last");
        // Past 100 nested midpoints the column is renumbered once; the order must survive that too.
        for (var i = 0; i < 150; i++)
        {
            await _client.CreateTaskAsync(key, $"M{i}");
            // Each new task goes just after First: the gap between First and the previous one halves every time.
            await MoveAsync($"{key}-{i + 3}", new { after = $"{key}-1" });
        }

        var column = await ColumnAsync(key, "todo");

        Assert.Equal(["First", .. Enumerable.Range(0, 150).Reverse().Select(i => $"M{i}"), "Last"], column);
        var paged = new List<string>();
        string? cursor = null;
        do
        {
            var page = await _client.GetFromJsonAsync<JsonElement>(
                $"/api/tasks?project={key}&limit=7{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            paged.AddRange(page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("title").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Equal(column, paged);
    }

    [Fact]
    public async Task A_neighbour_in_another_column_or_project_is_refused()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var other = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Mover");
        await _client.CreateTaskAsync(key, "Doing", new { status = "doing" });
        await _client.CreateTaskAsync(other, "Elsewhere");

        await (await PostMoveAsync($"{key}-1", new { after = $"{key}-2" })).AssertProblemAsync(400, "after");
        await (await PostMoveAsync($"{key}-1", new { before = $"{other}-1" })).AssertProblemAsync(400, "before");
        await (await PostMoveAsync($"{key}-1", new { before = $"{key}-1" })).AssertProblemAsync(400, "before");
        await (await PostMoveAsync($"{key}-1", new { })).AssertProblemAsync(400, "status");
        await (await PostMoveAsync($"{key}-1", new { before = $"{key}-2", after = $"{key}-2" })).AssertProblemAsync(400, "before");
    }

    [Fact]
    public async Task A_stale_move_is_a_412()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Contended");
        await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"priority":"high"}""");

        var stale = await _client.SendRawAsync(HttpMethod.Post, $"/api/tasks/{key}-1/move", """{"status":"review"}""", ifMatch: "\"1\"");

        await stale.AssertProblemAsync(412);
        Assert.Equal(["Contended"], await ColumnAsync(key, "todo"));
    }

    [Fact]
    public async Task Moves_that_renumber_a_column_never_fail_while_patches_and_claims_enter_it()
    {
        const int rounds = 30;
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var first = await CreateAsync(key, "First", "doing");
        var last = await CreateAsync(key, "Last", "doing");
        var movers = new List<string>();
        var patched = new List<string>();
        var claimable = new List<string>();
        for (var i = 1; i <= 8; i++)
        {
            movers.Add(await CreateAsync(key, $"Mover {i}", "doing"));
        }
        for (var i = 1; i <= rounds; i++)
        {
            patched.Add(await CreateAsync(key, $"Review {i}", "review"));
            claimable.Add(await CreateAsync(key, $"Ready {i}", "todo"));
        }

        // Every round moves each mover just after First (the gap halves with each move, so the column is due for a
        // renumbering about every 110 moves) while one task is PATCHed into the column and one is claimed into it.
        // Rounds rather than free-running workers: the last move of a round finds no other mover holding a row, so a
        // renumbering that falls due cannot be put off for ever.
        var responses = new List<HttpResponseMessage>();
        for (var round = 0; round < rounds; round++)
        {
            var requests = movers.Select(mover => _client.PostAsJsonAsync($"/api/tasks/{mover}/move", new { after = first }, TestHelpers.Ct))
                .Append(_client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{patched[round]}", """{"status":"doing"}"""))
                .Append(_client.PostAsJsonAsync("/api/tasks/claim", new { project = key }, TestHelpers.Ct));
            responses.AddRange(await Task.WhenAll(requests).Timeout());
        }

        var failures = new List<string>();
        foreach (var response in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            var body = await response.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout();
            failures.Add($"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri!.AbsolutePath}: {(int)response.StatusCode} {body}");
        }
        Assert.Empty(failures);
        var column = await ColumnTasksAsync(key, "doing");
        Assert.Equal(first, column[0].Ref);
        Assert.Equal(movers.Order(), column[1..9].Select(t => t.Ref).Order());
        Assert.Equal(last, column[9].Ref);
        Assert.Equal(patched.Concat(claimable).Order(), column[10..].Select(t => t.Ref).Order());
        Assert.Equal(column.Length, column.Select(t => SameNumber(t.Position)).Distinct().Count());
        var moves = new List<EventView>();
        foreach (var mover in movers)
        {
            var history = await _client.GetFromJsonAsync<PageView<EventView>>(
                $"/api/tasks/{mover}/history?limit=200", TestHelpers.Json, TestHelpers.Ct).Timeout();
            moves.AddRange(history!.Items.Where(e => e.Kind == "task.moved"));
        }
        Assert.Equal(rounds * movers.Count, moves.Count);
        // Otherwise the race this test is about never happened.
        Assert.Contains(moves, e => e.Data.Rebalanced);
    }

    private sealed record ColumnTask(string Ref, string Position);

    private sealed record EventView(string Kind, MoveData Data);

    private sealed record MoveData(bool Rebalanced);

    private sealed record PageView<T>(T[] Items, string? NextCursor);

    private async Task<string> CreateAsync(string key, string title, string status) =>
        (await _client.CreateTaskAsync(key, title, new { status })).GetProperty("ref").GetString()!;

    private async Task<ColumnTask[]> ColumnTasksAsync(string key, string status) =>
        (await _client.GetFromJsonAsync<PageView<ColumnTask>>(
            $"/api/tasks?project={key}&status={status}&limit=200", TestHelpers.Json, TestHelpers.Ct).Timeout())!.Items;

    /// <summary>A position as text, the same for equal numbers (numeric keeps trailing zeros: 1536.0 = 1536).</summary>
    private static string SameNumber(string position) => position.Contains('.') ? position.TrimEnd('0').TrimEnd('.') : position;

    private async Task<JsonElement> MoveAsync(string task, object body)
    {
        var response = await PostMoveAsync(task, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private Task<HttpResponseMessage> PostMoveAsync(string task, object body) =>
        _client.PostAsJsonAsync($"/api/tasks/{task}/move", body, TestHelpers.Ct).Timeout();

    private async Task<string[]> ColumnAsync(string key, string status)
    {
        var page = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&status={status}&limit=200", TestHelpers.Ct).Timeout();
        return [.. page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("title").GetString()!)];
    }
}
