using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class HistoryAndCommentsTests(AppFixture app)
{
    private readonly HttpClient _admin = app.Api.CreateAdminClient();

    [Fact]
    public async Task History_shows_old_and_new_for_each_field_changed_and_names_the_actor()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.CreateTaskAsync(key, "Draft", new { priority = "low", labels = new[] { "docs" } });
        var agent = app.Api.CreateClient(await TokenAsync("claude-code"));

        await agent.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1",
            """{"title":"Final","priority":"high","assignee":"claude-code","labels":["docs","api"],"dueDate":"2027-01-31","description":"Now with text"}""");

        var history = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/history", TestHelpers.Ct).Timeout();
        var events = history.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(["task.created", "task.updated"], events.Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal("admin", events[0].GetProperty("actor").GetString());
        var update = events[1];
        Assert.Equal("claude-code", update.GetProperty("actor").GetString());
        Assert.Equal($"{key}-1", update.GetProperty("taskRef").GetString());
        var changes = update.GetProperty("data").GetProperty("changes");
        AssertChange(changes, "title", "Draft", "Final");
        AssertChange(changes, "priority", "low", "high");
        AssertChange(changes, "assignee", null, "claude-code");
        AssertChange(changes, "dueDate", null, "2027-01-31");
        AssertChange(changes, "description", "", "Now with text");
        Assert.Equal(["docs"], changes.GetProperty("labels").GetProperty("old").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["docs", "api"], changes.GetProperty("labels").GetProperty("new").EnumerateArray().Select(l => l.GetString()));
        Assert.False(changes.TryGetProperty("status", out _));
        Assert.True(events[0].GetProperty("id").GetInt64() < events[1].GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task An_update_that_changes_nothing_writes_no_history_and_keeps_the_version()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.CreateTaskAsync(key, "Same");

        var response = await _admin.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"title":"Same"}""");

        Assert.Equal(1, (await response.ReadJsonAsync()).GetProperty("version").GetInt32());
        var history = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/history", TestHelpers.Ct).Timeout();
        Assert.Equal(1, history.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Project_history_covers_the_project_and_its_tasks_page_by_page()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"title":"Renamed","pinned":true}""");
        for (var i = 1; i <= 4; i++)
        {
            await _admin.CreateTaskAsync(key, $"T{i}");
        }
        await _admin.PostAsJsonAsync($"/api/tasks/{key}-2/comments", new { body = "Looks good" }, TestHelpers.Ct).Timeout();
        await _admin.PostAsync($"/api/projects/{key}/archive", null, TestHelpers.Ct).Timeout();

        var kinds = new List<string>();
        string? cursor = null;
        do
        {
            var page = await _admin.GetFromJsonAsync<JsonElement>(
                $"/api/projects/{key}/history?limit=3{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            kinds.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("kind").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(["project.created", "project.updated", "task.created", "task.created", "task.created", "task.created", "comment.added", "project.archived"], kinds);
    }

    [Fact]
    public async Task Comments_are_an_append_only_work_log_in_order()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.CreateTaskAsync(key, "Logged");
        var agent = app.Api.CreateClient(await TokenAsync("cursor"));

        var first = await agent.PostAsJsonAsync($"/api/tasks/{key}-1/comments", new { body = "Started: reading the code" }, TestHelpers.Ct).Timeout();
        await _admin.PostAsJsonAsync($"/api/tasks/{key}-1/comments", new { body = "Please keep the API stable" }, TestHelpers.Ct).Timeout();
        await agent.PostAsJsonAsync($"/api/tasks/{key}-1/comments", new { body = "Done: see PR #12" }, TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("cursor", (await first.ReadJsonAsync()).GetProperty("author").GetString());
        var page1 = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/comments?limit=2", TestHelpers.Ct).Timeout();
        var page2 = await _admin.GetFromJsonAsync<JsonElement>(
            $"/api/tasks/{key}-1/comments?limit=2&cursor={page1.GetProperty("nextCursor").GetString()}", TestHelpers.Ct).Timeout();
        var bodies = page1.GetProperty("items").EnumerateArray().Concat(page2.GetProperty("items").EnumerateArray())
            .Select(c => $"{c.GetProperty("author").GetString()}: {c.GetProperty("body").GetString()}");
        Assert.Equal(["cursor: Started: reading the code", "admin: Please keep the API stable", "cursor: Done: see PR #12"], bodies);
        Assert.Equal(JsonValueKind.Null, page2.GetProperty("nextCursor").ValueKind);
    }

    [Theory]
    [InlineData("""{"body":""}""")]
    [InlineData("""{"body":"   "}""")]
    [InlineData("""{}""")]
    public async Task An_empty_comment_is_refused(string body)
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.CreateTaskAsync(key, "Quiet");

        var response = await _admin.SendRawAsync(HttpMethod.Post, $"/api/tasks/{key}-1/comments", body);

        await response.AssertProblemAsync(400, "body");
    }

    private static void AssertChange(JsonElement changes, string field, string? before, string? after)
    {
        var change = changes.GetProperty(field);
        Assert.Equal(before, change.GetProperty("old").ValueKind == JsonValueKind.Null ? null : change.GetProperty("old").GetString());
        Assert.Equal(after, change.GetProperty("new").GetString());
    }

    private async Task<string> TokenAsync(string name)
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name, scopes = new[] { "write" } }, TestHelpers.Ct).Timeout();
        return (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
    }
}
