using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class ListAndSearchTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task Paging_through_a_filtered_list_of_250_tasks_returns_each_exactly_once()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var expected = new HashSet<string>();
        for (var i = 1; i <= 300; i++)
        {
            // 250 match (label "batch"), 50 do not; a few are moved so board order differs from creation order.
            var matches = i % 6 != 0;
            var task = await _client.CreateTaskAsync(key, $"Task {i}", new { labels = matches ? new[] { "batch" } : new[] { "other" } });
            if (matches)
            {
                expected.Add(task.GetProperty("ref").GetString()!);
            }
            if (i % 7 == 0)
            {
                await _client.PostAsJsonAsync($"/api/tasks/{key}-{i}/move", new { before = $"{key}-1" }, TestHelpers.Ct).Timeout();
            }
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _client.GetFromJsonAsync<JsonElement>(
                $"/api/tasks?project={key}&label=batch&limit=37{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("ref").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 20);

        Assert.Equal(250, expected.Count);
        Assert.Equal(250, seen.Count);
        Assert.Equal(expected.Order(), seen.Order());
        Assert.Equal(7, pages);
    }

    [Fact]
    public async Task The_summary_view_lists_brief_rows_in_the_same_order_and_pages()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Blocker");
        await _client.SendRawAsync(HttpMethod.Post, "/api/tasks", $$"""{"project":"{{key}}","title":"Brief","description":"{{new string('x', 2000)}}","labels":["ui"],"assignee":"ada"}""");
        await _client.SendRawAsync(HttpMethod.Post, $"/api/tasks/{key}-2/blockers", $$"""{"blocker":"{{key}}-1"}""");

        var full = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&limit=1", TestHelpers.Ct).Timeout();
        var brief = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&limit=1&view=summary", TestHelpers.Ct).Timeout();
        var next = await _client.GetFromJsonAsync<JsonElement>(
            $"/api/tasks?project={key}&limit=1&view=summary&cursor={Uri.EscapeDataString(brief.GetProperty("nextCursor").GetString()!)}", TestHelpers.Ct).Timeout();

        Assert.Equal(full.GetProperty("items")[0].GetProperty("ref").GetString(), brief.GetProperty("items")[0].GetProperty("ref").GetString());
        var row = Assert.Single(next.GetProperty("items").EnumerateArray());
        Assert.Equal(["ref", "title", "status", "priority", "assignee", "labels", "blockedBy", "ready", "version", "heldBy"], row.EnumerateObject().Select(p => p.Name));
        Assert.Equal($"{key}-2", row.GetProperty("ref").GetString());
        Assert.Equal("ada", row.GetProperty("assignee").GetString());
        Assert.Equal($"{key}-1", Assert.Single(row.GetProperty("blockedBy").EnumerateArray()).GetString());
        Assert.False(row.GetProperty("ready").GetBoolean());
        await (await _client.GetAsync($"/api/tasks?project={key}&view=compact", TestHelpers.Ct).Timeout()).AssertProblemAsync(400, "view");
    }

    [Fact]
    public async Task Text_search_finds_words_in_title_and_description()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Fix login redirect");
        await _client.CreateTaskAsync(key, "Update docs", new { description = "Explain the login flow and tokens" });
        await _client.CreateTaskAsync(key, "Unrelated");

        Assert.Equal(["Fix login redirect", "Update docs"], await TitlesAsync($"project={key}&q=login"));
        Assert.Equal(["Update docs"], await TitlesAsync($"project={key}&q=login%20tokens"));
        Assert.Empty(await TitlesAsync($"project={key}&q=nothing-matches-this"));
    }

    [Fact]
    public async Task Filters_combine_assignee_priority_label_and_parent()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var epic = await _client.CreateTaskAsync(key, "Epic");
        await _client.CreateTaskAsync(key, "Sub A", new { parent = epic.GetProperty("ref").GetString(), assignee = "alice", priority = "high" });
        await _client.CreateTaskAsync(key, "Sub B", new { parent = epic.GetProperty("ref").GetString(), assignee = "bob", labels = new[] { "ui" } });
        await _client.CreateTaskAsync(key, "Loose", new { assignee = "alice", priority = "high" });

        Assert.Equal(["Sub A", "Sub B"], await TitlesAsync($"project={key}&parent={key}-1"));
        Assert.Equal(["Sub A", "Loose"], await TitlesAsync($"project={key}&assignee=alice&priority=high,critical"));
        Assert.Equal(["Sub B"], await TitlesAsync($"project={key}&label=ui"));
        var parent = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal(2, parent.GetProperty("subtasks").GetProperty("total").GetInt32());
        Assert.Equal(0, parent.GetProperty("subtasks").GetProperty("done").GetInt32());
    }

    [Fact]
    public async Task A_task_cannot_become_a_subtask_of_its_own_subtask()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Parent");
        await _client.CreateTaskAsync(key, "Child", new { parent = $"{key}-1" });

        var loop = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", $$"""{"parent":"{{key}}-2"}""");
        var self = await _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", $$"""{"parent":"{{key}}-1"}""");

        await loop.AssertProblemAsync(400, "parent");
        await self.AssertProblemAsync(400, "parent");
    }

    private async Task<string[]> TitlesAsync(string query)
    {
        var page = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?{query}", TestHelpers.Ct).Timeout();
        return [.. page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("title").GetString()!)];
    }
}
