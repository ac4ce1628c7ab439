using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// Two api replicas on one database, each with its own listener, pool and caches: writes commit out of order without
/// any stream or cursor missing or repeating an event, and a revocation on one replica holds on the other.
/// </summary>
public sealed class ReplicaTests(AppFixture app)
{
    private const int Projects = 6;
    private const int WritesPerProject = 8;

    [Fact]
    public async Task Writes_committing_out_of_order_reach_every_stream_and_cursor_once_in_log_order()
    {
        await using var database = await ScratchDatabase.CreateAsync(app.AdminConnectionString, "event_order");
        // Small pools: the writes queue for connections instead of exhausting the server the other tests share. The
        // stalled writers hold locks and run for longer than the api's limits allow (which would answer 503s).
        var connectionString = database.ConnectionString + ";Maximum Pool Size=12;Command Timeout=30;Timeout=30;Options=-c lock_timeout=30s";
        await using var replicaA = new ApiFactory(connectionString, app.AdminToken);
        await using var replicaB = new ApiFactory(connectionString, app.AdminToken);
        var (a, b) = (replicaA.CreateAdminClient(), replicaB.CreateAdminClient());
        var keys = new List<string>();
        for (var i = 0; i < Projects; i++)
        {
            keys.Add((await (i % 2 == 0 ? a : b).CreateProjectAsync()).GetProperty("key").GetString()!);
        }
        // Writers that stall mid-transaction: "slow" tasks sleep before their event is inserted (so a transaction
        // that began earlier takes a larger event id than later ones) and again after it (so it commits after
        // transactions that took larger ids). "first" sleeps long enough for every other write to commit meanwhile.
        await database.ExecuteAsync("""
            CREATE FUNCTION test_stall() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.title = 'first' THEN PERFORM pg_sleep(1.5);
                ELSIF NEW.title LIKE 'slow%' THEN PERFORM pg_sleep(random() * 0.2);
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_stall BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION test_stall();
            CREATE FUNCTION test_stall_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.data->>'title' LIKE 'slow%' THEN PERFORM pg_sleep(random() * 0.2); END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_stall_commit AFTER INSERT ON task_events FOR EACH ROW EXECUTE FUNCTION test_stall_commit();
            """);
        var resumeFrom = (await HistoryAsync(a, keys[^1])).Last().Id;

        // Readers: a live stream on each replica, a reader that reconnects to the other replica every few events, and
        // a history reader that follows one project page by page.
        var expected = 1 + Projects * WritesPerProject;
        await using var liveA = await EventStream.OpenAsync(a, "/api/events");
        await using var liveB = await EventStream.OpenAsync(b, "/api/events");
        var resuming = ResumeAcrossReplicasAsync([a, b], resumeFrom, expected);
        using var writesDone = new CancellationTokenSource();
        var following = FollowHistoryAsync(a, keys[0], writesDone.Token);

        var first = a.SendAsync(CreateTask(keys[0], "first"), TestHelpers.Ct);
        await WaitForSleepingWriterAsync(database);
        var writes = Enumerable.Range(0, Projects * WritesPerProject).Select(i =>
            (i % 2 == 0 ? a : b).SendAsync(CreateTask(keys[i % Projects], (i % 3 == 0 ? "slow " : "fast ") + i), TestHelpers.Ct));
        var responses = await Task.WhenAll([first, .. writes]).WaitAsync(TimeSpan.FromMinutes(1), TestHelpers.Ct);
        writesDone.Cancel();

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var log = await LogAsync(database, resumeFrom);
        Assert.Equal(expected, log.Count);
        // The scenario happened: an event with a smaller id committed after (and sorts after) one with a larger id.
        Assert.NotEqual(log.Order(), log);
        Assert.Equal(log, await ReadAsync(liveA, expected));
        Assert.Equal(log, await ReadAsync(liveB, expected));
        Assert.Equal(log, await resuming.WaitAsync(TimeSpan.FromMinutes(1), TestHelpers.Ct));
        var project = (await HistoryAsync(a, keys[0])).Select(e => e.Id).ToList();
        Assert.Equal(project, await following.WaitAsync(TimeSpan.FromMinutes(1), TestHelpers.Ct));
        Assert.Equal(log.Where(project.Contains), project.Where(log.Contains));
    }

    [Fact]
    public async Task A_token_revoked_on_one_replica_is_refused_by_the_other_within_a_second()
    {
        await using var other = new ApiFactory(app.DatabaseConnectionString, app.AdminToken);
        var admin = app.Api.CreateAdminClient();
        var created = await (await admin.PostAsJsonAsync("/api/tokens", new { name = "replicated", scopes = new[] { "read" } }, TestHelpers.Ct).Timeout()).ReadJsonAsync();
        var client = other.CreateClient(created.GetProperty("secret").GetString());
        // Twice, so the second answer comes from the other replica's cache.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);

        var revoke = await admin.DeleteAsync($"/api/tokens/{created.GetProperty("token").GetProperty("id").GetString()}", TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);

        await AssertRefusedWithinASecondAsync(client);
    }

    [Fact]
    public async Task A_token_revoked_by_hand_in_SQL_is_refused_within_a_second()
    {
        var admin = app.Api.CreateAdminClient();
        var created = await (await admin.PostAsJsonAsync("/api/tokens", new { name = "by-hand", scopes = new[] { "read" } }, TestHelpers.Ct).Timeout()).ReadJsonAsync();
        var client = app.Api.CreateClient(created.GetProperty("secret").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);

        await using (var connection = new NpgsqlConnection(app.DatabaseConnectionString))
        {
            await connection.OpenAsync(TestHelpers.Ct).Timeout();
            await using var revoke = new NpgsqlCommand("UPDATE api_tokens SET revoked_at = now() WHERE id = @id", connection);
            revoke.Parameters.AddWithValue("id", Guid.Parse(created.GetProperty("token").GetProperty("id").GetString()!));
            Assert.Equal(1, await revoke.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout());
        }

        await AssertRefusedWithinASecondAsync(client);
    }

    [Fact]
    public async Task A_log_restored_from_another_cluster_keeps_its_order_and_new_events_follow_it()
    {
        await using var database = await ScratchDatabase.CreateAsync(app.AdminConnectionString, "restored");
        string key;
        await using (var before = new ApiFactory(database.ConnectionString, app.AdminToken))
        {
            var client = before.CreateAdminClient();
            key = (await client.CreateProjectAsync()).GetProperty("key").GetString()!;
            await client.CreateTaskAsync(key, "Before the move");
        }
        // As a dump restored into a cluster whose transaction ids have not got that far yet.
        await database.ExecuteAsync("UPDATE task_events SET xact = xact + 1000000000");

        await using var after = new ApiFactory(database.ConnectionString, app.AdminToken);
        var admin = after.CreateAdminClient();
        var restored = await HistoryAsync(admin, key);
        await using var stream = await EventStream.OpenAsync(admin, "/api/events", lastEventId: restored[^1].Id);
        await admin.CreateTaskAsync(key, "After the move");

        Assert.Equal("After the move", (await stream.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
        Assert.Equal(["project.created", "task.created", "task.created"], (await HistoryAsync(admin, key)).Select(e => e.Kind));
    }

    /// <summary>Asks as <paramref name="client"/> until it is refused: that must happen, and within a second.</summary>
    private static async Task AssertRefusedWithinASecondAsync(HttpClient client)
    {
        var revokedAt = DateTime.UtcNow;
        HttpStatusCode status;
        while ((status = (await client.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode) == HttpStatusCode.OK
            && DateTime.UtcNow - revokedAt < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20, TestHelpers.Ct);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.True(DateTime.UtcNow - revokedAt < TimeSpan.FromSeconds(1), $"The revoked token was accepted for {DateTime.UtcNow - revokedAt}.");
    }

    private static HttpRequestMessage CreateTask(string project, string title) =>
        new(HttpMethod.Post, "/api/tasks") { Content = JsonContent.Create(new { project, title }) };

    /// <summary>Returns once the "first" writer sleeps inside its transaction, holding the oldest transaction id.</summary>
    private static async Task WaitForSleepingWriterAsync(ScratchDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString + ";Pooling=false");
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var sleeping = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND backend_xid IS NOT NULL", connection);
        var until = DateTime.UtcNow + TestHelpers.DefaultTimeout;
        while ((long)(await sleeping.ExecuteScalarAsync(TestHelpers.Ct))! == 0)
        {
            Assert.True(DateTime.UtcNow < until, "The first writer never started.");
            await Task.Delay(10, TestHelpers.Ct);
        }
    }

    /// <summary>Event ids after <paramref name="afterId"/> in log order, as the database has them.</summary>
    private static async Task<List<long>> LogAsync(ScratchDatabase database, long afterId)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString + ";Pooling=false");
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var command = new NpgsqlCommand("SELECT id FROM task_events WHERE id > @id ORDER BY xact, id", connection);
        command.Parameters.AddWithValue("id", afterId);
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(TestHelpers.Ct).Timeout();
        while (await reader.ReadAsync(TestHelpers.Ct))
        {
            ids.Add(reader.GetInt64(0));
        }
        return ids;
    }

    private static async Task<List<long>> ReadAsync(EventStream stream, int count)
    {
        var ids = new List<long>();
        while (ids.Count < count)
        {
            ids.Add(long.Parse((await stream.NextAsync()).EventId!));
        }
        return ids;
    }

    /// <summary>Reads <paramref name="count"/> events three at a time, each time reconnecting to the next replica with Last-Event-ID.</summary>
    private static async Task<List<long>> ResumeAcrossReplicasAsync(HttpClient[] replicas, long after, int count)
    {
        var ids = new List<long>();
        for (var turn = 0; ids.Count < count; turn++)
        {
            await using var stream = await EventStream.OpenAsync(replicas[turn % replicas.Length], "/api/events", lastEventId: ids.Count > 0 ? ids[^1] : after);
            ids.AddRange(await ReadAsync(stream, Math.Min(3, count - ids.Count)));
        }
        return ids;
    }

    /// <summary>
    /// Follows a project's history two events a page while writes go on: a full page's events are final and its cursor
    /// is where the next read starts; the last, partial page is read again until the writes are over.
    /// </summary>
    private static async Task<List<long>> FollowHistoryAsync(HttpClient client, string key, CancellationToken writesDone)
    {
        var final = new List<long>();
        string? cursor = null;
        while (true)
        {
            var over = writesDone.IsCancellationRequested;
            var page = await client.GetFromJsonAsync<JsonElement>(
                $"/api/projects/{key}/history?limit=2{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            var items = page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToList();
            if (page.GetProperty("nextCursor").GetString() is { } next)
            {
                final.AddRange(items);
                cursor = next;
            }
            else if (over)
            {
                return [.. final, .. items];
            }
            else
            {
                await Task.Delay(5, TestHelpers.Ct);
            }
        }
    }

    private static async Task<List<(long Id, string Kind)>> HistoryAsync(HttpClient client, string key)
    {
        var events = new List<(long, string)>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>(
                $"/api/projects/{key}/history?limit=200{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            events.AddRange(page.GetProperty("items").EnumerateArray().Select(e => (e.GetProperty("id").GetInt64(), e.GetProperty("kind").GetString()!)));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return events;
    }
}
