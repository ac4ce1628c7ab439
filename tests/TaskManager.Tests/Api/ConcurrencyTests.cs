using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>Many writers at once: nothing lost, nothing inconsistent, no server errors.</summary>
public sealed class ConcurrencyTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task Every_event_of_concurrent_writes_reaches_the_stream_once_in_history_order()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= 20; i++)
        {
            await _client.CreateTaskAsync(key, $"T{i}");
        }
        var before = await HistoryIdsAsync(key);
        await using var stream = await EventStream.OpenAsync(_client, $"/api/events?project={key}", lastEventId: before.Max());

        var writes = Enumerable.Range(1, 20).SelectMany(i => new[] { "A", "B" }.Select(suffix =>
            app.Api.CreateAdminClient().SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-{i}", $$"""{"title":"T{{i}}{{suffix}}"}""")));
        var responses = await Task.WhenAll(writes).Timeout();

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var streamed = new List<long>();
        for (var i = 0; i < 40; i++)
        {
            streamed.Add(long.Parse((await stream.NextAsync()).EventId!));
        }
        var recorded = (await HistoryIdsAsync(key)).Except(before).ToList();
        Assert.Equal(40, recorded.Count);
        Assert.Equal(recorded, streamed);
        Assert.Equal(40, streamed.Distinct().Count());
    }

    [Fact]
    public async Task Concurrent_dependency_changes_neither_fail_nor_close_a_cycle()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= 21; i++)
        {
            await _client.CreateTaskAsync(key, $"T{i}");
        }

        // A chain T1 <- T2 <- ... <- T21, added all at once, plus the edge that would close it.
        var chain = Enumerable.Range(1, 20).Select(i => AddBlockerAsync($"{key}-{i}", $"{key}-{i + 1}"));
        var closing = AddBlockerAsync($"{key}-21", $"{key}-1");
        var responses = await Task.WhenAll(chain.Append(closing)).Timeout();

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"{r.StatusCode}"));
        var refused = responses.Count(r => r.StatusCode == HttpStatusCode.Conflict);
        Assert.Equal(1, refused);
    }

    [Fact]
    public async Task Concurrent_parent_changes_never_make_a_task_its_own_ancestor()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= 20; i++)
        {
            await _client.CreateTaskAsync(key, $"T{i}");
        }

        // Pairs (1,2), (3,4), ...: each task of a pair tries to become the other's subtask at the same moment.
        var attempts = Enumerable.Range(0, 10).SelectMany(pair => new[]
        {
            _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-{2 * pair + 1}", $$"""{"parent":"{{key}}-{{2 * pair + 2}}"}"""),
            _client.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-{2 * pair + 2}", $$"""{"parent":"{{key}}-{{2 * pair + 1}}"}"""),
        });
        var responses = await Task.WhenAll(attempts).Timeout();

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{r.StatusCode}"));
        for (var pair = 0; pair < 10; pair++)
        {
            Assert.Equal(1, responses.Skip(2 * pair).Take(2).Count(r => r.StatusCode == HttpStatusCode.OK));
        }
    }

    private Task<HttpResponseMessage> AddBlockerAsync(string task, string blocker) =>
        app.Api.CreateAdminClient().PostAsJsonAsync($"/api/tasks/{task}/blockers", new { blocker }, TestHelpers.Ct).Timeout();

    private async Task<List<long>> HistoryIdsAsync(string key)
    {
        var ids = new List<long>();
        string? cursor = null;
        do
        {
            var page = await _client.GetFromJsonAsync<JsonElement>(
                $"/api/projects/{key}/history?limit=200{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            ids.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return ids;
    }
}
