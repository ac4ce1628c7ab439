using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class EventStreamTests(AppFixture app)
{
    private readonly HttpClient _admin = app.Api.CreateAdminClient();

    [Fact]
    public async Task A_change_reaches_an_open_stream_with_its_actor()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        var agent = app.Api.CreateClient(await TokenAsync("claude-code"));
        await using var stream = await EventStream.OpenAsync(_admin, $"/api/events?project={key}");

        await agent.CreateTaskAsync(key, "Live");
        await agent.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"status":"review"}""");

        var created = await stream.NextAsync();
        var updated = await stream.NextAsync();
        Assert.Equal("task.created", created.EventType);
        Assert.Equal("claude-code", created.Data.GetProperty("actor").GetString());
        Assert.Equal($"{key}-1", created.Data.GetProperty("taskRef").GetString());
        Assert.Equal("task.updated", updated.EventType);
        Assert.Equal("review", updated.Data.GetProperty("data").GetProperty("changes").GetProperty("status").GetProperty("new").GetString());
        Assert.True(long.Parse(updated.EventId!) > long.Parse(created.EventId!));
    }

    [Fact]
    public async Task Last_Event_ID_resumes_after_the_last_event_seen()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.CreateTaskAsync(key, "One");
        await _admin.CreateTaskAsync(key, "Two");
        await _admin.CreateTaskAsync(key, "Three");
        var history = await _admin.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history", TestHelpers.Ct).Timeout();
        var secondTask = history.GetProperty("items")[2].GetProperty("id").GetInt64();

        await using var stream = await EventStream.OpenAsync(_admin, $"/api/events?project={key}", lastEventId: secondTask);

        var replayed = await stream.NextAsync();
        Assert.Equal($"{key}-3", replayed.Data.GetProperty("taskRef").GetString());
        await _admin.CreateTaskAsync(key, "Four");
        Assert.Equal($"{key}-4", (await stream.NextAsync()).Data.GetProperty("taskRef").GetString());
    }

    /// <summary>
    /// History shows events an older transaction still holds back (it could yet commit one before them). Resuming after
    /// such an id replays from the newest released event instead: the events after it arrive once the older transaction
    /// ends, perhaps after a few repeats, never skipped. On a PostgreSQL of its own: the open transaction holds back
    /// every stream of its cluster.
    /// </summary>
    [Fact]
    public async Task Resuming_after_an_event_an_older_transaction_holds_back_repeats_rather_than_skips()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        await using var api = new ApiFactory(postgres.ConnectionString, app.AdminToken);
        var admin = api.CreateAdminClient();
        var key = (await admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await admin.CreateTaskAsync(key, "One");
        await using var older = new Npgsql.NpgsqlConnection(postgres.ConnectionString);
        await older.OpenAsync(TestHelpers.Ct);
        await using var transaction = await older.BeginTransactionAsync(TestHelpers.Ct);
        await using (var takeId = new Npgsql.NpgsqlCommand("SELECT pg_current_xact_id()", older, transaction))
        {
            await takeId.ExecuteScalarAsync(TestHelpers.Ct);
        }
        await admin.CreateTaskAsync(key, "Two");
        await admin.CreateTaskAsync(key, "Three");
        // Newest first: oldest-first pages stop before events that are not released yet.
        var history = await admin.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history?order=desc", TestHelpers.Ct).Timeout();
        var newest = history.GetProperty("items")[0];
        Assert.Equal("Three", newest.GetProperty("data").GetProperty("title").GetString());
        var two = history.GetProperty("items")[1].GetProperty("id").GetInt64();

        await using var stream = await EventStream.OpenAsync(admin, $"/api/events?project={key}", lastEventId: two);
        await transaction.CommitAsync(TestHelpers.Ct);

        var titles = new List<string?>();
        while (titles.LastOrDefault() != "Three")
        {
            titles.Add((await stream.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
        }
        Assert.Contains("Two", titles);
        Assert.Equal(titles.Distinct(), titles);
        await admin.CreateTaskAsync(key, "Four");
        Assert.Equal("Four", (await stream.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
    }

    [Fact]
    public async Task Other_projects_events_are_filtered_out()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        var other = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await using var stream = await EventStream.OpenAsync(_admin, $"/api/events?project={key}");

        await _admin.CreateTaskAsync(other, "Not for this board");
        await _admin.CreateTaskAsync(key, "For this board");

        Assert.Equal("For this board", (await stream.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_stream_ticket_opens_the_stream_once_as_its_token()
    {
        var anonymous = app.Api.CreateClient(token: null);
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        var agent = app.Api.CreateClient(await TokenAsync("ticket-agent"));
        var (spent, expiresAt) = await IssueTicketAsync(agent);
        var (unspent, _) = await IssueTicketAsync(agent);
        Assert.InRange(expiresAt, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(2));

        await using var stream = await EventStream.OpenAsync(anonymous, $"/api/events?project={key}&ticket={spent}");
        var again = await anonymous.GetAsync($"/api/events?ticket={spent}", HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();
        var elsewhere = await anonymous.GetAsync($"/api/projects?ticket={unspent}", TestHelpers.Ct).Timeout();
        // Refused elsewhere, and not spent by that refusal: it still opens the stream it was issued for.
        await using var later = await EventStream.OpenAsync(anonymous, $"/api/events?project={key}&ticket={unspent}");
        await agent.CreateTaskAsync(key, "Seen through a ticket");

        Assert.Equal("text/event-stream", stream.ContentType);
        Assert.Equal("ticket-agent", (await stream.NextAsync()).Data.GetProperty("actor").GetString());
        Assert.Equal("ticket-agent", (await later.NextAsync()).Data.GetProperty("actor").GetString());
        await again.AssertProblemAsync(401);
        Assert.Contains("ticket", (await again.ReadJsonAsync()).GetProperty("detail").GetString());
        await elsewhere.AssertProblemAsync(401);
    }

    [Fact]
    public async Task An_expired_stream_ticket_opens_nothing()
    {
        var (ticket, _) = await IssueTicketAsync(_admin);
        await using (var connection = new Npgsql.NpgsqlConnection(app.DatabaseConnectionString))
        {
            await connection.OpenAsync(TestHelpers.Ct).Timeout();
            await using var expire = new Npgsql.NpgsqlCommand(
                "UPDATE stream_tickets SET expires_at = now() - interval '1 second' WHERE ticket_hash = @hash", connection);
            // Stored as the SHA-256 of the ticket's UTF-8 text, like every token.
            expire.Parameters.AddWithValue("hash", SHA256.HashData(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(ticket))));
            Assert.Equal(1, await expire.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout());
        }

        var stream = await app.Api.CreateClient(token: null).GetAsync(
            $"/api/events?ticket={ticket}", HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();

        await stream.AssertProblemAsync(401);
        Assert.Contains("ticket", (await stream.ReadJsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_token_in_the_query_opens_nothing()
    {
        var anonymous = app.Api.CreateClient(token: null);

        var stream = await anonymous.GetAsync($"/api/events?access_token={Uri.EscapeDataString(app.AdminToken)}",
            HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();
        var ticket = await anonymous.GetAsync($"/api/events?ticket={Uri.EscapeDataString(app.AdminToken)}",
            HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();

        await stream.AssertProblemAsync(401);
        await ticket.AssertProblemAsync(401);
    }

    [Fact]
    public async Task A_ticket_of_a_revoked_token_opens_nothing()
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name = "soon-revoked", scopes = new[] { "read" } }, TestHelpers.Ct).Timeout();
        var created = await response.ReadJsonAsync();
        var client = app.Api.CreateClient(created.GetProperty("secret").GetString());
        var ticket = await (await client.PostAsync("/api/events/tickets", null, TestHelpers.Ct).Timeout()).ReadJsonAsync();

        await _admin.DeleteAsync($"/api/tokens/{created.GetProperty("token").GetProperty("id").GetString()}", TestHelpers.Ct).Timeout();
        var stream = await app.Api.CreateClient(token: null).GetAsync(
            $"/api/events?ticket={Uri.EscapeDataString(ticket.GetProperty("ticket").GetString()!)}",
            HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();

        await stream.AssertProblemAsync(401);
    }

    [Fact]
    public async Task A_revoked_token_loses_its_open_stream()
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name = "board", scopes = new[] { "read" } }, TestHelpers.Ct).Timeout();
        var created = await response.ReadJsonAsync();
        var client = app.Api.CreateClient(created.GetProperty("secret").GetString());
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await using var stream = await EventStream.OpenAsync(client, $"/api/events?project={key}");
        // A busy board: events keep flowing, so the stream is never idle.
        using var stopWriting = CancellationTokenSource.CreateLinkedTokenSource(TestHelpers.Ct);
        var writer = Task.Run(async () =>
        {
            while (!stopWriting.IsCancellationRequested)
            {
                await _admin.PostAsJsonAsync("/api/tasks", new { project = key, title = "Keeps the stream busy" }, stopWriting.Token);
                await Task.Delay(100, stopWriting.Token);
            }
        }, stopWriting.Token);

        await stream.NextAsync();
        await _admin.DeleteAsync($"/api/tokens/{created.GetProperty("token").GetProperty("id").GetString()}", TestHelpers.Ct).Timeout();

        var ended = await stream.EndsWithinAsync(TimeSpan.FromSeconds(10));
        await stopWriting.CancelAsync();
        try
        {
            await writer.Timeout();
        }
        catch (OperationCanceledException)
        {
            // The writer was stopped mid-request or mid-delay.
        }
        Assert.True(ended, "The stream of a revoked token stayed open while events kept coming.");
    }

    [Fact]
    public async Task When_the_database_drops_the_listener_open_streams_miss_nothing()
    {
        // An api of its own, named, so that dropping its listener disturbs no other test.
        var name = "listener-" + Guid.NewGuid().ToString("N");
        await using var api = new ApiFactory($"{app.DatabaseConnectionString};Application Name={name}", app.AdminToken);
        var client = api.CreateAdminClient();
        var key = (await client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await using var stream = await EventStream.OpenAsync(client, $"/api/events?project={key}");
        await client.CreateTaskAsync(key, "Before");
        Assert.Equal("Before", (await stream.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());

        await using (var connection = new Npgsql.NpgsqlConnection(app.DatabaseConnectionString))
        {
            await connection.OpenAsync(TestHelpers.Ct).Timeout();
            await using var drop = new Npgsql.NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name", connection);
            drop.Parameters.AddWithValue("name", $"{name} (events listener)");
            Assert.Equal(1L, await drop.ExecuteScalarAsync(TestHelpers.Ct).Timeout());
        }
        // Committed while nobody listens: delivered once the listener is back.
        await client.CreateTaskAsync(key, "During the outage");
        await client.CreateTaskAsync(key, "After");

        Assert.Equal("During the outage", (await stream.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
        Assert.Equal("After", (await stream.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
    }

    /// <summary>A stream ticket of <paramref name="client"/>'s token, escaped for a query string, and when it expires.</summary>
    private static async Task<(string Ticket, DateTimeOffset ExpiresAt)> IssueTicketAsync(HttpClient client)
    {
        var ticket = await (await client.PostAsync("/api/events/tickets", null, TestHelpers.Ct).Timeout()).ReadJsonAsync();
        return (Uri.EscapeDataString(ticket.GetProperty("ticket").GetString()!), ticket.GetProperty("expiresAt").GetDateTimeOffset());
    }

    private async Task<string> TokenAsync(string name)
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name, scopes = new[] { "write" } }, TestHelpers.Ct).Timeout();
        return (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
    }
}

/// <summary>An open Server-Sent Events response, read one event at a time (each read with a timeout).</summary>
public sealed class EventStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<JsonElement>> _events;
    private readonly CancellationTokenSource _stop;

    private EventStream(HttpResponseMessage response, Stream body, CancellationTokenSource stop)
    {
        _response = response;
        _stop = stop;
        _events = SseParser.Create(body, (_, data) => JsonDocument.Parse(data.ToArray()).RootElement.Clone()).EnumerateAsync(stop.Token).GetAsyncEnumerator(stop.Token);
    }

    public string? ContentType => _response.Content.Headers.ContentType?.MediaType;

    /// <summary>Returns once the server has subscribed: every change after this reaches the stream.</summary>
    public static async Task<EventStream> OpenAsync(HttpClient client, string url, long? lastEventId = null)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(TestHelpers.Ct);
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId.ToString());
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token).Timeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new EventStream(response, await response.Content.ReadAsStreamAsync(stop.Token).Timeout(), stop);
    }

    public async Task<SseItem<JsonElement>> NextAsync()
    {
        Assert.True(await _events.MoveNextAsync().AsTask().Timeout(), "The event stream ended.");
        return _events.Current;
    }

    /// <summary>True when the server ends the stream within <paramref name="deadline"/> (events until then are skipped).</summary>
    public async Task<bool> EndsWithinAsync(TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        try
        {
            while (until > DateTime.UtcNow && await _events.MoveNextAsync().AsTask().WaitAsync(until - DateTime.UtcNow, TestHelpers.Ct))
            {
            }
            return until > DateTime.UtcNow;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        // Closing the response ends a read still waiting for the next event.
        _response.Dispose();
        try
        {
            await _events.DisposeAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or NotSupportedException or IOException or ObjectDisposedException)
        {
            // Expected: we stopped reading, possibly in the middle of a read.
        }
        _stop.Dispose();
    }
}
