using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// Leases on claimed work: a claim gives its claimer a lease that its writes and heartbeats renew; when it runs out the
/// task goes back to todo for someone else, and the old holder's writes under it are refused.
/// </summary>
public sealed class LeaseTests(AppFixture app)
{
    private readonly HttpClient _admin = app.Api.CreateAdminClient();

    [Fact]
    public async Task An_agents_claim_gets_the_projects_lease_and_only_the_holder_sees_its_id()
    {
        var key = await ProjectAsync();
        await _admin.CreateTaskAsync(key, "Leased");
        await _admin.CreateTaskAsync(key, "Held by a person");
        var agent = await ClientAsync("agent");
        var person = await ClientAsync("person", "person");

        var before = DateTimeOffset.UtcNow;
        var claimed = await ClaimAsync(agent, key);
        var byPerson = await ClaimAsync(person, key);

        var lease = claimed.GetProperty("lease");
        Assert.True(Guid.TryParse(lease.GetProperty("id").GetString(), out _));
        Assert.StartsWith("agent-", lease.GetProperty("holder").GetString());
        Assert.Equal(900, lease.GetProperty("seconds").GetInt32());
        var expires = lease.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expires, before.AddSeconds(895), DateTimeOffset.UtcNow.AddSeconds(905));
        Assert.False(lease.GetProperty("expired").GetBoolean());
        // A person's claim has no expiry unless it asks for one.
        Assert.Equal(JsonValueKind.Null, byPerson.GetProperty("lease").GetProperty("expiresAt").ValueKind);

        var read = await GetAsync(_admin, claimed);
        Assert.Equal(lease.GetProperty("holder").GetString(), read.GetProperty("lease").GetProperty("holder").GetString());
        Assert.Equal(JsonValueKind.Null, read.GetProperty("lease").GetProperty("id").ValueKind);
    }

    [Fact]
    public async Task An_expired_lease_puts_the_task_back_in_todo_with_an_event_naming_the_holder_and_another_agent_claims_it()
    {
        var key = await ProjectAsync();
        await _admin.CreateTaskAsync(key, "Abandoned");
        var (crashed, crashedName) = await NamedClientAsync("crashed");
        var next = await ClientAsync("next");

        var claimed = await ClaimAsync(crashed, key, leaseSeconds: 1);
        Assert.Equal("doing", claimed.GetProperty("status").GetString());
        await Task.Delay(1500, TestHelpers.Ct);

        var lost = await GetAsync(_admin, claimed);
        Assert.Equal("todo", lost.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, lost.GetProperty("assignee").ValueKind);
        Assert.Equal(JsonValueKind.Null, lost.GetProperty("lease").ValueKind);
        Assert.True(lost.GetProperty("ready").GetBoolean());
        Assert.Equal(crashedName, lost.GetProperty("expiredLease").GetProperty("holder").GetString());
        var expiredList = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&leaseExpired=true", TestHelpers.Ct).Timeout();
        Assert.Equal([$"{key}-1"], expiredList.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("ref").GetString()));

        var history = await HistoryAsync(key, 1);
        var expiry = Assert.Single(history, e => e.GetProperty("kind").GetString() == "lease.expired");
        Assert.Equal(crashedName, expiry.GetProperty("data").GetProperty("holder").GetString());
        Assert.Equal("todo", expiry.GetProperty("data").GetProperty("changes").GetProperty("status").GetProperty("new").GetString());

        var reclaimed = await ClaimAsync(next, key);
        Assert.Equal($"{key}-1", reclaimed.GetProperty("ref").GetString());
        Assert.Equal(JsonValueKind.Null, reclaimed.GetProperty("expiredLease").ValueKind);
    }

    [Fact]
    public async Task A_write_under_a_lease_that_expired_is_refused_with_409_and_changes_nothing()
    {
        var key = await ProjectAsync();
        await _admin.CreateTaskAsync(key, "Taken over");
        await _admin.CreateTaskAsync(key, "Another", new { status = "review" });
        var revived = await ClientAsync("revived");
        var successor = await ClientAsync("successor");
        var oldLease = (await ClaimAsync(revived, key, leaseSeconds: 1)).GetProperty("lease").GetProperty("id").GetString()!;
        await Task.Delay(1500, TestHelpers.Ct);
        var newer = await ClaimAsync(successor, key);
        var newLease = newer.GetProperty("lease").GetProperty("id").GetString()!;

        var patch = await SendAsync(revived, HttpMethod.Patch, $"/api/tasks/{key}-1", new { title = "Overwritten" }, oldLease);
        var move = await SendAsync(revived, HttpMethod.Post, $"/api/tasks/{key}-1/move", new { status = "review" }, oldLease);
        var comment = await SendAsync(revived, HttpMethod.Post, $"/api/tasks/{key}-1/comments", new { body = "Done!" }, oldLease);
        var heartbeat = await SendAsync(revived, HttpMethod.Post, $"/api/tasks/{key}-1/heartbeat", null, oldLease);
        var archive = await SendAsync(revived, HttpMethod.Post, $"/api/tasks/{key}-1/archive", null, oldLease);
        var blocker = await SendAsync(revived, HttpMethod.Post, $"/api/tasks/{key}-1/blockers", new { blocker = $"{key}-2" }, oldLease);

        foreach (var refused in new[] { patch, move, comment, heartbeat, archive, blocker })
        {
            await refused.AssertProblemAsync(409);
            var detail = (await refused.ReadJsonAsync()).GetProperty("detail").GetString();
            Assert.Contains("re-claim", detail);
            Assert.Contains("claimed by successor-", detail);
        }
        var unchanged = await GetAsync(_admin, newer);
        Assert.Equal("Taken over", unchanged.GetProperty("title").GetString());
        Assert.Equal("doing", unchanged.GetProperty("status").GetString());
        Assert.Equal(newer.GetProperty("version").GetInt32(), unchanged.GetProperty("version").GetInt32());
        var comments = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/comments", TestHelpers.Ct).Timeout();
        Assert.Equal(0, comments.GetProperty("items").GetArrayLength());
        Assert.Empty(unchanged.GetProperty("blockedBy").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, unchanged.GetProperty("archivedAt").ValueKind);

        var current = await SendAsync(successor, HttpMethod.Patch, $"/api/tasks/{key}-1", new { title = "Improved" }, newLease);
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        var malformed = await SendAsync(successor, HttpMethod.Patch, $"/api/tasks/{key}-1", new { title = "x" }, "not-a-lease");
        await malformed.AssertProblemAsync(400);
    }

    [Fact]
    public async Task Heartbeats_and_the_holders_writes_keep_a_lease_past_its_length_and_others_cannot_renew_it()
    {
        var key = await ProjectAsync();
        await _admin.CreateTaskAsync(key, "Long job");
        var holder = await ClientAsync("holder");
        var other = await ClientAsync("other");
        var claimed = await ClaimAsync(holder, key, leaseSeconds: 2);
        var leaseId = claimed.GetProperty("lease").GetProperty("id").GetString()!;

        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(1000, TestHelpers.Ct);
            var beat = await SendAsync(holder, HttpMethod.Post, $"/api/tasks/{key}-1/heartbeat", null, i == 0 ? null : leaseId);
            Assert.Equal(HttpStatusCode.OK, beat.StatusCode);
            var renewed = await beat.ReadJsonAsync();
            Assert.Equal(leaseId, renewed.GetProperty("id").GetString());
            Assert.True(renewed.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddSeconds(1.5));
        }
        await Task.Delay(1000, TestHelpers.Ct);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(holder, HttpMethod.Post, $"/api/tasks/{key}-1/comments", new { body = "Still on it" }, null)).StatusCode);
        await Task.Delay(1000, TestHelpers.Ct);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(holder, HttpMethod.Patch, $"/api/tasks/{key}-1", new { description = "Half way" }, leaseId)).StatusCode);
        await Task.Delay(1000, TestHelpers.Ct);

        // Five seconds after a two-second claim: still the holder's.
        var held = await GetAsync(_admin, claimed);
        Assert.Equal("doing", held.GetProperty("status").GetString());
        Assert.False(held.GetProperty("lease").GetProperty("expired").GetBoolean());
        var byOther = await SendAsync(other, HttpMethod.Post, $"/api/tasks/{key}-1/heartbeat", null, null);
        await byOther.AssertProblemAsync(409);
        Assert.Contains("only its holder", (await byOther.ReadJsonAsync()).GetProperty("detail").GetString());
        var heldBy = await _admin.GetFromJsonAsync<JsonElement>(
            $"/api/tasks?project={key}&heldBy={Uri.EscapeDataString(held.GetProperty("lease").GetProperty("holder").GetString()!)}&view=summary", TestHelpers.Ct).Timeout();
        Assert.Equal($"{key}-1", Assert.Single(heldBy.GetProperty("items").EnumerateArray()).GetProperty("ref").GetString());

        // Finishing the work ends the lease.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(holder, HttpMethod.Patch, $"/api/tasks/{key}-1", new { status = "review" }, leaseId)).StatusCode);
        Assert.Equal(JsonValueKind.Null, (await GetAsync(_admin, claimed)).GetProperty("lease").ValueKind);
    }

    [Fact]
    public async Task A_release_hands_the_task_back_with_a_note_the_next_claimer_receives()
    {
        var key = await ProjectAsync();
        await _admin.CreateTaskAsync(key, "Half done");
        var first = await ClientAsync("first");
        var second = await ClientAsync("second");
        var intruder = await ClientAsync("intruder");
        var leaseId = (await ClaimAsync(first, key)).GetProperty("lease").GetProperty("id").GetString()!;
        var note = new
        {
            summary = "Parser written, tests green.",
            remaining = "Wire it into the CLI.",
            files = new[] { "src/parser.cs" },
            branch = "feature/parser",
            links = new[] { "https://example.com/pr/7" },
        };

        var byIntruder = await SendAsync(intruder, HttpMethod.Post, $"/api/tasks/{key}-1/release", note, null);
        var badLink = await SendAsync(first, HttpMethod.Post, $"/api/tasks/{key}-1/release", note with { links = new[] { "javascript:alert(1)" } }, leaseId);
        var noSummary = await SendAsync(first, HttpMethod.Post, $"/api/tasks/{key}-1/release", new { summary = " " }, leaseId);
        var released = await SendAsync(first, HttpMethod.Post, $"/api/tasks/{key}-1/release", note, leaseId);
        var again = await SendAsync(first, HttpMethod.Post, $"/api/tasks/{key}-1/release", note, null);

        await byIntruder.AssertProblemAsync(409);
        await badLink.AssertProblemAsync(400, "links");
        await noSummary.AssertProblemAsync(400, "summary");
        Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        var task = await released.ReadJsonAsync();
        Assert.Equal("todo", task.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("assignee").ValueKind);
        Assert.Equal(JsonValueKind.Null, task.GetProperty("lease").ValueKind);
        await again.AssertProblemAsync(409);

        var claimed = await ClaimAsync(second, key);
        var handoff = claimed.GetProperty("handoff");
        Assert.Equal(note.summary, handoff.GetProperty("summary").GetString());
        Assert.Equal(note.remaining, handoff.GetProperty("remaining").GetString());
        Assert.Equal("feature/parser", handoff.GetProperty("branch").GetString());
        Assert.Equal(["src/parser.cs"], handoff.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.StartsWith("first-", handoff.GetProperty("author").GetString());
        var history = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/handoffs", TestHelpers.Ct).Timeout();
        Assert.Equal(note.summary, Assert.Single(history.EnumerateArray()).GetProperty("summary").GetString());
        Assert.Contains(await HistoryAsync(key, 1), e => e.GetProperty("kind").GetString() == "task.released");
    }

    [Fact]
    public async Task Giving_a_claimed_task_to_someone_else_ends_the_lease_so_its_expiry_does_not_take_the_task_back()
    {
        var key = await ProjectAsync();
        await _admin.CreateTaskAsync(key, "Taken over by a person");
        var agent = await ClientAsync("agent");
        var claimed = await ClaimAsync(agent, key, leaseSeconds: 1);

        var reassigned = await _admin.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"assignee":"alice"}""");
        await Task.Delay(1500, TestHelpers.Ct);

        Assert.Equal(JsonValueKind.Null, (await reassigned.ReadJsonAsync()).GetProperty("lease").ValueKind);
        var task = await GetAsync(_admin, claimed);
        Assert.Equal(("doing", "alice"), (task.GetProperty("status").GetString(), task.GetProperty("assignee").GetString()));
        Assert.DoesNotContain(await HistoryAsync(key, 1), e => e.GetProperty("kind").GetString() == "lease.expired");
    }

    [Fact]
    public async Task The_projects_agent_lease_length_is_a_setting_and_zero_means_no_expiry()
    {
        var key = await ProjectAsync();
        await _admin.CreateTaskAsync(key, "No expiry");
        var invalid = await _admin.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"agentLeaseSeconds":-1}""");
        var set = await _admin.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"agentLeaseSeconds":0}""");
        var badClaim = await (await ClientAsync("bad")).PostAsJsonAsync("/api/tasks/claim", new { project = key, leaseSeconds = 0 }, TestHelpers.Ct).Timeout();

        await invalid.AssertProblemAsync(400, "agentLeaseSeconds");
        Assert.Equal(0, (await set.ReadJsonAsync()).GetProperty("agentLeaseSeconds").GetInt32());
        await badClaim.AssertProblemAsync(400, "leaseSeconds");
        var claimed = await ClaimAsync(await ClientAsync("agent"), key);
        Assert.Equal(JsonValueKind.Null, claimed.GetProperty("lease").GetProperty("expiresAt").ValueKind);
    }

    [Fact]
    public async Task Two_replicas_sweeping_at_once_expire_each_lease_once_without_anyone_reading_the_tasks()
    {
        const int tasks = 12;
        await using var database = await ScratchDatabase.CreateAsync(app.AdminConnectionString, "lease_sweep");
        void FastSweep(IWebHostBuilder builder) => builder.UseSetting("Leases:SweepInterval", "00:00:00.1");
        await using var replicaA = new ApiFactory(database.ConnectionString, app.AdminToken, configure: FastSweep);
        await using var replicaB = new ApiFactory(database.ConnectionString, app.AdminToken, configure: FastSweep);
        var (a, b) = (replicaA.CreateAdminClient(), replicaB.CreateAdminClient());
        var key = (await a.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 0; i < tasks; i++)
        {
            await a.CreateTaskAsync(key, $"Task {i}");
        }
        var agent = replicaA.CreateClient(await a.CreateTokenAsync("sweep"));
        for (var i = 0; i < tasks; i++)
        {
            await ClaimAsync(agent, key, leaseSeconds: 1);
        }

        // Only history is read (it never expires anything): the sweeps alone put the tasks back.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        List<JsonElement> expiries;
        do
        {
            await Task.Delay(250, TestHelpers.Ct);
            var history = await b.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history?limit=200", TestHelpers.Ct).Timeout();
            expiries = [.. history.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "lease.expired")];
        }
        while (expiries.Count < tasks && DateTime.UtcNow < deadline);
        await Task.Delay(500, TestHelpers.Ct);
        var final = await b.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history?limit=200", TestHelpers.Ct).Timeout();
        var perTask = final.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "lease.expired")
            .GroupBy(e => e.GetProperty("taskRef").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(tasks, perTask.Count);
        Assert.All(perTask, pair => Assert.Equal(1, pair.Value));
        var list = await a.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&status=todo&limit=100", TestHelpers.Ct).Timeout();
        Assert.Equal(tasks, list.GetProperty("items").GetArrayLength());
    }

    private async Task<string> ProjectAsync() => (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;

    private async Task<HttpClient> ClientAsync(string name, string kind = "agent") => (await NamedClientAsync(name, kind)).Client;

    private async Task<(HttpClient Client, string Name)> NamedClientAsync(string name, string kind = "agent")
    {
        var client = app.Api.CreateClient(await _admin.CreateTokenAsync(name, kind));
        var me = await client.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout();
        return (client, me.GetProperty("name").GetString()!);
    }

    private static async Task<JsonElement> ClaimAsync(HttpClient client, string key, int? leaseSeconds = null)
    {
        var response = await client.PostAsJsonAsync("/api/tasks/claim", new { project = key, leaseSeconds }, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, JsonElement task) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/tasks/{task.GetProperty("ref").GetString()}", TestHelpers.Ct).Timeout();

    private async Task<List<JsonElement>> HistoryAsync(string key, int number)
    {
        var history = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-{number}/history", TestHelpers.Ct).Timeout();
        return [.. history.GetProperty("items").EnumerateArray()];
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, object? body, string? leaseId)
    {
        var request = new HttpRequestMessage(method, url) { Content = JsonContent.Create(body ?? new { }) };
        if (leaseId is not null)
        {
            request.Headers.TryAddWithoutValidation("Lease-Id", leaseId);
        }
        return client.SendAsync(request, TestHelpers.Ct).Timeout();
    }
}
