using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class TasksApiTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task Tasks_are_numbered_per_project_and_found_by_ref_and_id()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

        var first = await _client.CreateTaskAsync(key, "First");
        var second = await _client.CreateTaskAsync(key, "Second", new { priority = "high", labels = new[] { "api", "api", "docs" }, assignee = "claude-code" });

        Assert.Equal($"{key}-1", first.GetProperty("ref").GetString());
        Assert.Equal($"{key}-2", second.GetProperty("ref").GetString());
        Assert.Equal("todo", second.GetProperty("status").GetString());
        Assert.Equal("high", second.GetProperty("priority").GetString());
        Assert.Equal(["api", "docs"], second.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("medium", first.GetProperty("priority").GetString());

        var byRef = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key.ToLowerInvariant()}-2", TestHelpers.Ct).Timeout();
        var byId = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{second.GetProperty("id").GetString()}", TestHelpers.Ct).Timeout();
        Assert.Equal("Second", byRef.GetProperty("title").GetString());
        Assert.Equal("claude-code", byId.GetProperty("assignee").GetString());
    }

    [Fact]
    public async Task List_filters_by_project_and_status_in_board_order()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "A");
        await _client.CreateTaskAsync(key, "B", new { status = "doing" });
        await _client.CreateTaskAsync(key, "C");
        await _client.CreateTaskAsync(key, "D", new { status = "done" });

        var todo = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&status=todo", TestHelpers.Ct).Timeout();
        var active = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&status=todo&status=doing", TestHelpers.Ct).Timeout();

        Assert.Equal(["A", "C"], Titles(todo));
        Assert.Equal(["A", "B", "C"], Titles(active).Order());
    }

    [Fact]
    public async Task Patch_changes_only_the_fields_sent_and_bumps_the_version()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var task = await _client.CreateTaskAsync(key, "Write docs", new { description = "Keep me", assignee = "alice", dueDate = "2026-12-24" });

        var response = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"status":"doing","assignee":null}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = await response.ReadJsonAsync();
        Assert.Equal("doing", updated.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("assignee").ValueKind);
        Assert.Equal("Keep me", updated.GetProperty("description").GetString());
        Assert.Equal("2026-12-24", updated.GetProperty("dueDate").GetString());
        Assert.Equal(task.GetProperty("version").GetInt32() + 1, updated.GetProperty("version").GetInt32());
        Assert.Equal("\"2\"", response.Headers.ETag?.Tag);
    }

    [Fact]
    public async Task Stale_update_returns_412_and_loses_nothing()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Shared");

        var alice = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"title":"Alice's title"}""", ifMatch: "\"1\"");
        var bob = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"priority":"high"}""", ifMatch: "\"1\"");

        Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
        await bob.AssertProblemAsync(412);
        Assert.Equal(2, (await bob.ReadJsonAsync()).GetProperty("currentVersion").GetInt32());
        var current = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal("Alice's title", current.GetProperty("title").GetString());
        Assert.Equal("medium", current.GetProperty("priority").GetString());
    }

    [Fact]
    public async Task Archived_tasks_leave_the_list_until_restored()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Keep");
        await _client.CreateTaskAsync(key, "Old");

        var archive = await _client.PostAsync($"/api/tasks/{key}-2/archive", null, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, archive.StatusCode);
        Assert.Equal("admin", (await archive.ReadJsonAsync()).GetProperty("archivedBy").GetString());

        Assert.Equal(["Keep"], Titles(await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout()));
        Assert.Equal(["Keep", "Old"], Titles(await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&includeArchived=true", TestHelpers.Ct).Timeout()));

        var restore = await _client.PostAsync($"/api/tasks/{key}-2/restore", null, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, restore.StatusCode);
        Assert.Equal(["Keep", "Old"], Titles(await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout()));
    }

    [Theory]
    [InlineData("""{"title":"x"}""", "project")]
    [InlineData("""{"project":"NOSUCHPROJ","title":"x"}""", "project")]
    [InlineData("""{"project":"{key}","title":""}""", "title")]
    [InlineData("""{"project":"{key}","title":"x","status":"started"}""", "$.status")]
    [InlineData("""{"project":"{key}","title":"x","status":2}""", "$.status")]
    [InlineData("""{"project":"{key}","title":"x","priority":"urgent"}""", "$.priority")]
    [InlineData("""{"project":"{key}","title":"x","labels":"one"}""", "$.labels")]
    [InlineData("""{"project":"{key}","title":"x","dueDate":"tomorrow"}""", "$.dueDate")]
    [InlineData("""{"project":"{key}","title":"x","feature":"login"}""", "$.feature")]
    [InlineData("""{"project":"{key}","title":"x","parent":"NOPE"}""", "parent")]
    [InlineData("""{"project":"{key}","title":"x",""", "$")]
    public async Task Invalid_task_is_a_400_naming_the_field(string body, string field)
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

        var response = await _client.SendRawAsync(HttpMethod.Post, "/api/tasks", body.Replace("{key}", key));

        await response.AssertProblemAsync(400, field);
    }

    [Fact]
    public async Task Over_long_fields_are_refused_with_their_limits()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var body = new
        {
            project = key,
            title = new string('t', 201),
            description = new string('d', 65537),
            labels = Enumerable.Range(0, 21).Select(i => $"l{i}").Append(new string('x', 33)).ToArray(),
        };

        var response = await _client.PostAsJsonAsync("/api/tasks", body, TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(400);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("title", out _));
        Assert.True(errors.TryGetProperty("description", out _));
        Assert.True(errors.TryGetProperty("labels", out _));
    }

    [Fact]
    public async Task A_body_over_the_size_limit_is_a_413_problem()
    {
        var response = await _client.SendRawAsync(HttpMethod.Post, "/api/tasks", $$"""{"title":"{{new string('x', 300_000)}}"}""");

        await response.AssertProblemAsync(413);
    }

    [Theory]
    [InlineData("not-a-task")]
    [InlineData("WEB-0")]
    [InlineData("W-1")]
    public async Task A_malformed_task_reference_is_a_400(string reference)
    {
        var response = await _client.GetAsync($"/api/tasks/{reference}", TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(400);
    }

    [Fact]
    public async Task An_unknown_task_is_a_404()
    {
        var response = await _client.GetAsync("/api/tasks/NOSUCHPROJ-1", TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(404);
    }

    [Theory]
    [InlineData("status=started", "status")]
    [InlineData("priority=urgent", "priority")]
    [InlineData("sort=title", "sort")]
    [InlineData("cursor=%%%", "cursor")]
    [InlineData("project=NOSUCHPROJ", "project")]
    public async Task Bad_filters_are_a_400_naming_them(string query, string field)
    {
        var response = await _client.GetAsync($"/api/tasks?{query}", TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(400, field);
    }

    [Fact]
    public async Task Every_write_is_attributed_to_the_token_actor()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Mine");

        var updated = await (await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"title":"Still mine"}""")).ReadJsonAsync();

        Assert.Equal("admin", updated.GetProperty("createdBy").GetString());
        Assert.Equal("admin", updated.GetProperty("updatedBy").GetString());
    }

    private static string[] Titles(JsonElement page) =>
        [.. page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("title").GetString()!)];

    [Fact]
    public async Task A_NUL_character_is_a_400_not_a_server_error()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

        var response = await _client.SendRawAsync(HttpMethod.Post, "/api/tasks", $$"""{"project":"{{key}}","title":"bad\u0000title"}""");

        await response.AssertProblemAsync(400);
    }

    [Fact]
    public async Task A_weak_ETag_in_If_Match_never_matches()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Strict");

        var response = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"title":"Weak"}""", ifMatch: "W/\"1\"");

        await response.AssertProblemAsync(412);
    }

    [Fact]
    public async Task Tasks_of_an_archived_project_leave_lists_and_are_not_ready()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Shelved");
        await _client.PostAsync($"/api/projects/{key}/archive", null, TestHelpers.Ct).Timeout();

        var listed = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout();
        var all = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&includeArchived=true", TestHelpers.Ct).Timeout();
        var task = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();

        Assert.Equal(0, listed.GetProperty("items").GetArrayLength());
        Assert.Equal(1, all.GetProperty("items").GetArrayLength());
        Assert.False(task.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Concurrent_creates_in_one_project_get_unique_gap_free_numbers()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

        var created = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            app.Api.CreateAdminClient().PostAsJsonAsync("/api/tasks", new { project = key, title = $"Parallel {i}" }, TestHelpers.Ct))).Timeout();

        Assert.All(created, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var numbers = new List<int>();
        foreach (var response in created)
        {
            numbers.Add((await response.ReadJsonAsync()).GetProperty("number").GetInt32());
        }
        Assert.Equal(Enumerable.Range(1, 30), numbers.Order());
    }

    [Fact]
    public async Task A_task_read_carries_its_version_as_ETag_and_archive_honours_If_Match()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Versioned");
        await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"priority":"low"}""");

        var read = await _client.GetAsync($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        var stale = await _client.SendRawAsync(HttpMethod.Post, $"/api/tasks/{key}-1/archive", "", ifMatch: "\"1\"");
        var fresh = await _client.SendRawAsync(HttpMethod.Post, $"/api/tasks/{key}-1/archive", "", ifMatch: read.Headers.ETag!.Tag);

        Assert.Equal("\"2\"", read.Headers.ETag.Tag);
        await stale.AssertProblemAsync(412);
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
    }
}
