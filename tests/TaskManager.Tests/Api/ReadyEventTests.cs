using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>When a task's last open blocker is done (or its dependency removed), a task.ready event names it.</summary>
public sealed class ReadyEventTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task Finishing_the_last_open_blocker_announces_the_task_as_ready_once_live_and_in_history()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Schema");
        await _client.CreateTaskAsync(key, "Fixtures");
        await _client.CreateTaskAsync(key, "Endpoints");
        await BlockAsync($"{key}-3", $"{key}-1");
        await BlockAsync($"{key}-3", $"{key}-2");
        await using var stream = await EventStream.OpenAsync(_client, $"/api/events?project={key}");

        await StatusAsync($"{key}-1", "done");
        await _client.PostAsJsonAsync($"/api/tasks/{key}-2/move", new { status = "done" }, TestHelpers.Ct).Timeout();

        Assert.Equal("task.updated", (await stream.NextAsync()).EventType);
        Assert.Equal("task.moved", (await stream.NextAsync()).EventType);
        var ready = await stream.NextAsync();
        Assert.Equal("task.ready", ready.EventType);
        Assert.Equal($"{key}-3", ready.Data.GetProperty("taskRef").GetString());
        Assert.Equal($"{key}-2", ready.Data.GetProperty("data").GetProperty("unblockedBy").GetString());
        Assert.Equal(1, await ReadyEventsAsync($"{key}-3"));
        Assert.Equal(0, await ReadyEventsAsync($"{key}-1"));
    }

    /// <summary>
    /// Blockers in two projects (a move into done serialises within its project's done column, not across projects):
    /// each write alone would see the other blocker still open, unless the second waits for the first.
    /// </summary>
    [Fact]
    public async Task Two_blockers_finishing_at_the_same_moment_announce_their_task_exactly_once()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var other = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        const int Rounds = 10;
        for (var round = 1; round <= Rounds; round++)
        {
            await _client.CreateTaskAsync(key, $"Left {round}");
            await _client.CreateTaskAsync(other, $"Right {round}");
            await _client.CreateTaskAsync(key, $"Joined {round}");
            var (left, right, joined) = ($"{key}-{2 * round - 1}", $"{other}-{round}", $"{key}-{2 * round}");
            await BlockAsync(joined, left);
            await BlockAsync(joined, right);

            await Task.WhenAll(StatusAsync(left, "done"), StatusAsync(right, "done"));

            Assert.Equal(1, await ReadyEventsAsync(joined));
        }
    }

    [Fact]
    public async Task Removing_the_last_open_blocker_announces_the_task_but_a_task_already_started_is_not_announced()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Blocker");
        await _client.CreateTaskAsync(key, "Waiting");
        await _client.CreateTaskAsync(key, "Other blocker");
        await _client.CreateTaskAsync(key, "In review");
        await BlockAsync($"{key}-2", $"{key}-1");

        var removed = await _client.DeleteAsync($"/api/tasks/{key}-2/blockers/{key}-1", TestHelpers.Ct).Timeout();
        removed.EnsureSuccessStatusCode();
        Assert.Equal(1, await ReadyEventsAsync($"{key}-2"));

        // Only todo tasks are ready: a blocker finishing while the task is in review already announces nothing.
        await StatusAsync($"{key}-3", "done");
        await BlockAsync($"{key}-4", $"{key}-3");
        await StatusAsync($"{key}-4", "review");
        await StatusAsync($"{key}-3", "todo");
        await StatusAsync($"{key}-3", "done");
        Assert.Equal(0, await ReadyEventsAsync($"{key}-4"));
    }

    private async Task StatusAsync(string task, string status) =>
        (await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{task}", $$"""{"status":"{{status}}"}""")).EnsureSuccessStatusCode();

    private async Task BlockAsync(string task, string blocker) =>
        (await _client.PostAsJsonAsync($"/api/tasks/{task}/blockers", new { blocker }, TestHelpers.Ct).Timeout()).EnsureSuccessStatusCode();

    private async Task<int> ReadyEventsAsync(string task)
    {
        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{task}/history?limit=200", TestHelpers.Ct).Timeout();
        return history.GetProperty("items").EnumerateArray().Count(e => e.GetProperty("kind").GetString() == "task.ready");
    }
}
