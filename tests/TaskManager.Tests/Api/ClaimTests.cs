using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class ClaimTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task Ten_agents_claim_ten_different_tasks()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= 10; i++)
        {
            await _client.CreateTaskAsync(key, $"Task {i}");
        }

        var responses = await ClaimConcurrentlyAsync(key, agents: 10);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(10, responses.Select(r => r.Ref).Distinct().Count());
        var doing = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&status=doing", TestHelpers.Ct).Timeout();
        Assert.Equal(10, doing.GetProperty("items").GetArrayLength());
        Assert.All(doing.GetProperty("items").EnumerateArray(), t => Assert.StartsWith("agent-", t.GetProperty("assignee").GetString()));
    }

    [Fact]
    public async Task Ten_agents_on_five_ready_tasks_get_five_tasks_and_five_no_content()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= 5; i++)
        {
            await _client.CreateTaskAsync(key, $"Ready {i}");
        }
        // Not ready: blocked by an unfinished task, already in progress, or archived.
        var blocker = await _client.CreateTaskAsync(key, "Blocker", new { status = "review" });
        var blocked = await _client.CreateTaskAsync(key, "Blocked");
        await AddBlockerAsync(blocked.GetProperty("ref").GetString()!, blocker.GetProperty("ref").GetString()!);
        await _client.CreateTaskAsync(key, "Started", new { status = "doing" });
        var archived = await _client.CreateTaskAsync(key, "Archived");
        await _client.PostAsync($"/api/tasks/{archived.GetProperty("ref").GetString()}/archive", null, TestHelpers.Ct).Timeout();

        var responses = await ClaimConcurrentlyAsync(key, agents: 10);

        Assert.Equal(5, responses.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(5, responses.Count(r => r.Status == HttpStatusCode.NoContent));
        var claimed = responses.Where(r => r.Ref is not null).Select(r => r.Ref).ToArray();
        Assert.Equal(5, claimed.Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"{key}-{i}").Order(), claimed.Order());
    }

    [Fact]
    public async Task Claim_takes_the_highest_priority_then_board_order_and_assigns_the_caller()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Low", new { priority = "low" });
        await _client.CreateTaskAsync(key, "High first", new { priority = "high" });
        await _client.CreateTaskAsync(key, "High second", new { priority = "high" });
        await _client.CreateTaskAsync(key, "Critical", new { priority = "critical" });

        var titles = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var response = await _client.PostAsJsonAsync("/api/tasks/claim", new { project = key }, TestHelpers.Ct).Timeout();
            var task = await response.ReadJsonAsync();
            Assert.Equal("doing", task.GetProperty("status").GetString());
            Assert.Equal("admin", task.GetProperty("assignee").GetString());
            titles.Add(task.GetProperty("title").GetString()!);
        }

        Assert.Equal(["Critical", "High first", "High second", "Low"], titles);
        var none = await _client.PostAsJsonAsync("/api/tasks/claim", new { project = key }, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.NoContent, none.StatusCode);
    }

    [Fact]
    public async Task Claim_filters_by_labels_and_priority()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Frontend", new { labels = new[] { "ui" }, priority = "critical" });
        await _client.CreateTaskAsync(key, "Backend low", new { labels = new[] { "api" }, priority = "low" });
        await _client.CreateTaskAsync(key, "Backend", new { labels = new[] { "api", "db" } });

        var byLabel = await (await _client.PostAsJsonAsync("/api/tasks/claim", new { project = key, labels = new[] { "db", "infra" } }, TestHelpers.Ct).Timeout()).ReadJsonAsync();
        var byPriority = await (await _client.PostAsJsonAsync("/api/tasks/claim", new { project = key, labels = new[] { "api" }, priority = new[] { "low" } }, TestHelpers.Ct).Timeout()).ReadJsonAsync();

        Assert.Equal("Backend", byLabel.GetProperty("title").GetString());
        Assert.Equal("Backend low", byPriority.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Claim_records_who_claimed_in_history()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Work");

        var claim = await _client.PostAsJsonAsync("/api/tasks/claim", new { project = key, assignee = "codex" }, TestHelpers.Ct).Timeout();

        Assert.Equal("codex", (await claim.ReadJsonAsync()).GetProperty("assignee").GetString());
        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/history", TestHelpers.Ct).Timeout();
        var claimed = history.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("kind").GetString() == "task.claimed");
        Assert.Equal("admin", claimed.GetProperty("actor").GetString());
        Assert.Equal("codex", claimed.GetProperty("data").GetProperty("changes").GetProperty("assignee").GetProperty("new").GetString());
    }

    [Fact]
    public async Task Concurrent_claims_line_up_one_after_another_at_the_end_of_doing()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var started = (await _client.CreateTaskAsync(key, "Started", new { status = "doing" })).GetProperty("ref").GetString()!;
        for (var i = 1; i <= 10; i++)
        {
            await _client.CreateTaskAsync(key, $"Task {i}");
        }

        var responses = await ClaimConcurrentlyAsync(key, agents: 10);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(10, responses.Select(r => r.Ref).Distinct().Count());
        var doing = (await _client.GetFromJsonAsync<PageView<ColumnTask>>(
            $"/api/tasks?project={key}&status=doing", TestHelpers.Json, TestHelpers.Ct).Timeout())!.Items;
        Assert.Equal(started, doing[0].Ref);
        Assert.Equal(responses.Select(r => r.Ref).Order(), doing[1..].Select(t => t.Ref).Order());
        Assert.Equal(11, doing.Select(t => decimal.Parse(t.Position, CultureInfo.InvariantCulture)).Distinct().Count());
    }

    [Fact]
    public async Task A_retried_claim_with_the_same_key_returns_the_same_task_and_claims_nothing_more()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "First");
        await _client.CreateTaskAsync(key, "Second");
        var idempotencyKey = Guid.NewGuid().ToString();
        HttpRequestMessage Claim() => new(HttpMethod.Post, "/api/tasks/claim")
        {
            Content = JsonContent.Create(new { project = key }),
            Headers = { { "Idempotency-Key", idempotencyKey } },
        };

        var first = await _client.SendAsync(Claim(), TestHelpers.Ct).Timeout();
        var retry = await _client.SendAsync(Claim(), TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal($"{key}-1", (await retry.ReadJsonAsync()).GetProperty("ref").GetString());
        var todo = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&status=todo", TestHelpers.Ct).Timeout();
        Assert.Equal([$"{key}-2"], todo.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("ref").GetString()));
    }

    private sealed record ColumnTask(string Ref, string Position);

    private sealed record PageView<T>(T[] Items, string? NextCursor);

    private async Task<(HttpStatusCode Status, string? Ref)[]> ClaimConcurrentlyAsync(string key, int agents)
    {
        using var start = new SemaphoreSlim(0);
        var claims = Enumerable.Range(1, agents).Select(async agent =>
        {
            var client = app.Api.CreateAdminClient();
            await start.WaitAsync(TestHelpers.Ct);
            var response = await client.PostAsJsonAsync("/api/tasks/claim", new { project = key, assignee = $"agent-{agent}" }, TestHelpers.Ct);
            return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? (await response.ReadJsonAsync()).GetProperty("ref").GetString() : null);
        }).ToArray();
        start.Release(agents);
        return await Task.WhenAll(claims).Timeout();
    }

    private async Task AddBlockerAsync(string task, string blocker)
    {
        var response = await _client.PostAsJsonAsync($"/api/tasks/{task}/blockers", new { blocker }, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
