using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class DependencyTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task A_blocked_task_is_not_ready_and_cannot_start_until_its_blocker_is_done()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Schema");
        await _client.CreateTaskAsync(key, "Endpoints");

        var blocked = await (await _client.PostAsJsonAsync($"/api/tasks/{key}-2/blockers", new { blocker = $"{key}-1" }, TestHelpers.Ct).Timeout()).ReadJsonAsync();
        Assert.Equal([$"{key}-1"], blocked.GetProperty("blockedBy").EnumerateArray().Select(b => b.GetString()));
        Assert.False(blocked.GetProperty("ready").GetBoolean());
        var ready = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&ready=true", TestHelpers.Ct).Timeout();
        Assert.Equal([$"{key}-1"], ready.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("ref").GetString()));

        var start = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-2", """{"status":"doing"}""");
        var move = await _client.PostAsJsonAsync($"/api/tasks/{key}-2/move", new { status = "doing" }, TestHelpers.Ct).Timeout();
        await start.AssertProblemAsync(409);
        await move.AssertProblemAsync(409);
        var problem = await start.ReadJsonAsync();
        Assert.Contains($"{key}-1", problem.GetProperty("detail").GetString());
        Assert.Equal([$"{key}-1"], problem.GetProperty("blockedBy").EnumerateArray().Select(b => b.GetString()));

        await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"status":"done"}""");
        var unblocked = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-2", """{"status":"doing"}""");
        Assert.Equal(HttpStatusCode.OK, unblocked.StatusCode);
    }

    [Fact]
    public async Task A_blocker_entering_or_leaving_done_names_its_dependents_in_its_event()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var other = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Schema");
        var here = (await _client.CreateTaskAsync(key, "Endpoints")).GetProperty("id").GetString();
        var there = (await _client.CreateTaskAsync(other, "Client")).GetProperty("id").GetString();
        await _client.PostAsJsonAsync($"/api/tasks/{key}-2/blockers", new { blocker = $"{key}-1" }, TestHelpers.Ct).Timeout();
        await _client.PostAsJsonAsync($"/api/tasks/{other}-1/blockers", new { blocker = $"{key}-1" }, TestHelpers.Ct).Timeout();

        await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"priority":"high"}""");
        await _client.PostAsJsonAsync($"/api/tasks/{key}-1/move", new { status = "done" }, TestHelpers.Ct).Timeout();
        await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"status":"review"}""");

        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/history", TestHelpers.Ct).Timeout();
        var events = history.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("kind").GetString() is "task.updated" or "task.moved").ToArray();
        string[]? Dependents(JsonElement e) => e.GetProperty("data").TryGetProperty("dependents", out var d) ? [.. d.EnumerateArray().Select(x => x.GetString()!)] : null;
        Assert.Equal(3, events.Length);
        Assert.Null(Dependents(events[0]));
        Assert.Equal(new[] { here, there }.Order(), Dependents(events[1])!.Order());
        Assert.Equal(new[] { here, there }.Order(), Dependents(events[2])!.Order());
    }

    [Fact]
    public async Task A_dependency_cycle_is_refused()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= 3; i++)
        {
            await _client.CreateTaskAsync(key, $"T{i}");
        }
        Assert.Equal(HttpStatusCode.OK, (await AddAsync($"{key}-1", $"{key}-2")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AddAsync($"{key}-2", $"{key}-3")).StatusCode);

        var cycle = await AddAsync($"{key}-3", $"{key}-1");
        var self = await AddAsync($"{key}-1", $"{key}-1");

        await cycle.AssertProblemAsync(409);
        Assert.Contains("cycle", (await cycle.ReadJsonAsync()).GetProperty("detail").GetString());
        await self.AssertProblemAsync(400, "blocker");
        var blockers = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-3/blockers", TestHelpers.Ct).Timeout();
        Assert.Equal(0, blockers.GetArrayLength());
    }

    [Fact]
    public async Task Dependencies_work_across_projects_and_can_be_removed()
    {
        var web = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var api = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(web, "Page");
        await _client.CreateTaskAsync(api, "Endpoint");

        var added = await (await AddAsync($"{web}-1", $"{api}-1")).ReadJsonAsync();
        var again = await (await AddAsync($"{web}-1", $"{api}-1")).ReadJsonAsync();
        var removed = await _client.DeleteAsync($"/api/tasks/{web}-1/blockers/{api}-1", TestHelpers.Ct).Timeout();

        Assert.Equal([$"{api}-1"], added.GetProperty("blockedBy").EnumerateArray().Select(b => b.GetString()));
        Assert.Equal(added.GetProperty("version").GetInt32(), again.GetProperty("version").GetInt32());
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        var task = await removed.ReadJsonAsync();
        Assert.Equal(0, task.GetProperty("blockedBy").GetArrayLength());
        Assert.True(task.GetProperty("ready").GetBoolean());
        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{web}-1/history", TestHelpers.Ct).Timeout();
        Assert.Equal(["task.created", "dependency.added", "dependency.removed", "task.ready"],
            history.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("kind").GetString()));
    }

    [Fact]
    public async Task Unknown_blockers_are_refused_naming_the_field()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Lonely");

        await (await AddAsync($"{key}-1", $"{key}-99")).AssertProblemAsync(400, "blocker");
        await (await AddAsync($"{key}-1", "nonsense")).AssertProblemAsync(400, "blocker");
        await (await AddAsync($"{key}-99", $"{key}-1")).AssertProblemAsync(404);
    }

    private Task<HttpResponseMessage> AddAsync(string task, string blocker) =>
        _client.PostAsJsonAsync($"/api/tasks/{task}/blockers", new { blocker }, TestHelpers.Ct).Timeout();

    [Fact]
    public async Task A_dependency_change_with_a_stale_If_Match_is_a_412()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Waiting");
        await _client.CreateTaskAsync(key, "Blocking");
        await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"priority":"high"}""");

        var stale = await _client.SendRawAsync(HttpMethod.Post, $"/api/tasks/{key}-1/blockers", $$"""{"blocker":"{{key}}-2"}""", ifMatch: "\"1\"");
        var current = await _client.SendRawAsync(HttpMethod.Post, $"/api/tasks/{key}-1/blockers", $$"""{"blocker":"{{key}}-2"}""", ifMatch: "\"2\"");

        await stale.AssertProblemAsync(412);
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.Equal(3, (await current.ReadJsonAsync()).GetProperty("version").GetInt32());
    }

    [Theory]
    [InlineData("review")]
    [InlineData("done")]
    public async Task A_blocked_task_cannot_skip_ahead_to_review_or_done(string status)
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Blocked");
        await _client.CreateTaskAsync(key, "Blocker");
        await AddAsync($"{key}-1", $"{key}-2");

        var patch = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", $$"""{"status":"{{status}}"}""");
        var move = await _client.PostAsJsonAsync($"/api/tasks/{key}-1/move", new { status }, TestHelpers.Ct).Timeout();

        await patch.AssertProblemAsync(409);
        await move.AssertProblemAsync(409);
    }

    [Fact]
    public async Task An_archived_blocker_still_blocks_until_the_dependency_is_removed()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Waiting");
        await _client.CreateTaskAsync(key, "Abandoned");
        await AddAsync($"{key}-1", $"{key}-2");

        await _client.PostAsync($"/api/tasks/{key}-2/archive", null, TestHelpers.Ct).Timeout();

        var task = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.False(task.GetProperty("ready").GetBoolean());
        Assert.Equal([$"{key}-2"], task.GetProperty("blockedBy").EnumerateArray().Select(b => b.GetString()));
    }
}
