using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class IdempotencyTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task A_retried_create_with_the_same_key_creates_one_task_and_replays_the_first_response()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var idempotencyKey = Guid.NewGuid().ToString();

        var first = await PostTaskAsync(key, "Only once", idempotencyKey);
        var retry = await PostTaskAsync(key, "Only once", idempotencyKey);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(first.Headers.ETag, retry.Headers.ETag);
        Assert.Equal(await first.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout(), await retry.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout());
        Assert.Equal(1, await CountAsync(key));
    }

    [Fact]
    public async Task Concurrent_duplicates_create_one_task()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var idempotencyKey = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => PostTaskAsync(key, "Raced", idempotencyKey))).Timeout();

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Single(responses.Select(r => r.Headers.Location).Distinct());
        Assert.Equal(1, await CountAsync(key));
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_a_422()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var idempotencyKey = Guid.NewGuid().ToString();
        await PostTaskAsync(key, "Original", idempotencyKey);

        var different = await PostTaskAsync(key, "Different", idempotencyKey);

        await different.AssertProblemAsync(422);
        Assert.Equal(1, await CountAsync(key));
    }

    [Fact]
    public async Task Keys_belong_to_their_actor()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var tokenResponse = await _client.PostAsJsonAsync("/api/tokens", new { name = "other-agent", scopes = new[] { "write" } }, TestHelpers.Ct).Timeout();
        var other = app.Api.CreateClient((await tokenResponse.ReadJsonAsync()).GetProperty("secret").GetString());
        var idempotencyKey = Guid.NewGuid().ToString();

        await PostTaskAsync(key, "Mine", idempotencyKey);
        var theirs = await PostTaskAsync(key, "Mine", idempotencyKey, other);

        Assert.Equal(HttpStatusCode.Created, theirs.StatusCode);
        Assert.Equal("other-agent", (await theirs.ReadJsonAsync()).GetProperty("createdBy").GetString());
        Assert.Equal(2, await CountAsync(key));
    }

    [Fact]
    public async Task A_failed_create_is_not_remembered()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var idempotencyKey = Guid.NewGuid().ToString();
        var invalid = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = JsonContent.Create(new { project = key, title = "" }) };
        invalid.Headers.Add("Idempotency-Key", idempotencyKey);
        await (await _client.SendAsync(invalid, TestHelpers.Ct).Timeout()).AssertProblemAsync(400);

        var valid = await PostTaskAsync(key, "Fixed", idempotencyKey);

        Assert.Equal(HttpStatusCode.Created, valid.StatusCode);
    }

    [Fact]
    public async Task Projects_and_comments_are_idempotent_too()
    {
        var projectKey = TestHelpers.NewProjectKey();
        var idempotencyKey = Guid.NewGuid().ToString();
        var project = () => new HttpRequestMessage(HttpMethod.Post, "/api/projects")
        {
            Content = JsonContent.Create(new { key = projectKey, title = "Twice" }),
            Headers = { { "Idempotency-Key", idempotencyKey } },
        };
        Assert.Equal(HttpStatusCode.Created, (await _client.SendAsync(project(), TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _client.SendAsync(project(), TestHelpers.Ct).Timeout()).StatusCode);

        await _client.CreateTaskAsync(projectKey, "Discussed");
        var commentKey = Guid.NewGuid().ToString();
        var comment = () => new HttpRequestMessage(HttpMethod.Post, $"/api/tasks/{projectKey}-1/comments")
        {
            Content = JsonContent.Create(new { body = "Said once" }),
            Headers = { { "Idempotency-Key", commentKey } },
        };
        Assert.Equal(HttpStatusCode.Created, (await _client.SendAsync(comment(), TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _client.SendAsync(comment(), TestHelpers.Ct).Timeout()).StatusCode);

        var comments = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{projectKey}-1/comments", TestHelpers.Ct).Timeout();
        Assert.Equal(1, comments.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_failure_before_the_commit_keeps_neither_the_task_nor_the_key_and_the_retry_creates_one()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var idempotencyKey = "refuse-" + Guid.NewGuid();
        // The database refuses this key's row: a stand-in for any failure between the task's insert and the commit.
        var trigger = "refuse_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync($"""
            CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.key = '{idempotencyKey}' THEN RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'XX000'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER {trigger} BEFORE INSERT ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION {trigger}();
            """);
        HttpResponseMessage failed;
        try
        {
            failed = await PostTaskAsync(key, "Only once", idempotencyKey);
        }
        finally
        {
            await ExecuteAsync($"DROP TRIGGER {trigger} ON idempotency_keys; DROP FUNCTION {trigger}();");
        }

        await failed.AssertProblemAsync(503);
        Assert.Equal(0, await CountAsync(key));
        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history", TestHelpers.Ct).Timeout();
        Assert.DoesNotContain(history.GetProperty("items").EnumerateArray(), e => e.GetProperty("kind").GetString() == "task.created");

        var retry = await PostTaskAsync(key, "Only once", idempotencyKey);
        var again = await PostTaskAsync(key, "Only once", idempotencyKey);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await CountAsync(key));
    }

    [Fact]
    public async Task A_retried_update_replays_its_answer_instead_of_failing_its_own_precondition()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Edited once");
        var idempotencyKey = Guid.NewGuid().ToString();
        HttpRequestMessage Patch(string? keyHeader) => new HttpRequestMessage(HttpMethod.Patch, $"/api/tasks/{key}-1")
        {
            Content = JsonContent.Create(new { title = "Edited" }),
            Headers = { { "If-Match", "\"1\"" } },
        }.WithKey(keyHeader);

        var first = await _client.SendAsync(Patch(idempotencyKey), TestHelpers.Ct).Timeout();
        var retry = await _client.SendAsync(Patch(idempotencyKey), TestHelpers.Ct).Timeout();
        var unkeyed = await _client.SendAsync(Patch(null), TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Headers.ETag, retry.Headers.ETag);
        Assert.Equal(await first.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout(), await retry.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout());
        await unkeyed.AssertProblemAsync(412);
        var task = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal(2, task.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task Concurrent_retries_of_a_move_move_the_task_once()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Moved once");
        var idempotencyKey = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => _client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/api/tasks/{key}-1/move") { Content = JsonContent.Create(new { status = "review" }) }
                .WithKey(idempotencyKey), TestHelpers.Ct))).Timeout();

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/history", TestHelpers.Ct).Timeout();
        Assert.Single(history.GetProperty("items").EnumerateArray(), e => e.GetProperty("kind").GetString() == "task.moved");
        var task = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal(2, task.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task The_same_key_with_another_expected_version_is_a_422()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "Archived");
        var idempotencyKey = Guid.NewGuid().ToString();
        HttpRequestMessage Archive(string version) => new HttpRequestMessage(HttpMethod.Post, $"/api/tasks/{key}-1/archive")
        {
            Headers = { { "If-Match", $"\"{version}\"" } },
        }.WithKey(idempotencyKey);

        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(Archive("1"), TestHelpers.Ct).Timeout()).StatusCode);
        var other = await _client.SendAsync(Archive("2"), TestHelpers.Ct).Timeout();

        await other.AssertProblemAsync(422);
    }

    /// <summary>
    /// Replies lost on the way back over a real connection, after the api acted: a create, an If-Match update, a move
    /// and a claim, each retried with its key through a proxy that drops the first reply. The retry gets the first
    /// answer back and nothing happens twice.
    /// </summary>
    [Fact]
    public async Task A_reply_lost_after_the_change_is_safe_to_retry_with_the_same_key()
    {
        await using var proxy = new ReplyDroppingProxy(app.Loopback.Address);
        var client = proxy.CreateClient(app.AdminToken);
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

        async Task<HttpResponseMessage> LoseThenRetryAsync(Func<HttpRequestMessage> request)
        {
            proxy.DropReplies = 1;
            await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(request(), TestHelpers.Ct).Timeout());
            var retry = await client.SendAsync(request(), TestHelpers.Ct).Timeout();
            Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
            return retry;
        }

        var createKey = Guid.NewGuid().ToString();
        var created = await LoseThenRetryAsync(() => new HttpRequestMessage(HttpMethod.Post, "/api/tasks")
        {
            Content = JsonContent.Create(new { project = key, title = "Lost reply" }),
        }.WithKey(createKey));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"{key}-1", (await created.ReadJsonAsync()).GetProperty("ref").GetString());
        Assert.Equal(1, await CountAsync(key));

        var updateKey = Guid.NewGuid().ToString();
        var updated = await LoseThenRetryAsync(() => new HttpRequestMessage(HttpMethod.Patch, $"/api/tasks/{key}-1")
        {
            Content = JsonContent.Create(new { title = "Lost reply, edited" }),
            Headers = { { "If-Match", "\"1\"" } },
        }.WithKey(updateKey));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(2, (await updated.ReadJsonAsync()).GetProperty("version").GetInt32());

        var moveKey = Guid.NewGuid().ToString();
        var moved = await LoseThenRetryAsync(() => new HttpRequestMessage(HttpMethod.Post, $"/api/tasks/{key}-1/move")
        {
            Content = JsonContent.Create(new { status = "review" }),
        }.WithKey(moveKey));
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);

        await _client.CreateTaskAsync(key, "Claimed once");
        await _client.CreateTaskAsync(key, "Left for the next claim");
        var claimKey = Guid.NewGuid().ToString();
        var claimed = await LoseThenRetryAsync(() => new HttpRequestMessage(HttpMethod.Post, "/api/tasks/claim")
        {
            Content = JsonContent.Create(new { project = key, assignee = "agent-lost-reply" }),
        }.WithKey(claimKey));
        Assert.Equal($"{key}-2", (await claimed.ReadJsonAsync()).GetProperty("ref").GetString());

        var history = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1/history", TestHelpers.Ct).Timeout();
        var kinds = history.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["task.created", "task.updated", "task.moved"], kinds);
        var second = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-3", TestHelpers.Ct).Timeout();
        Assert.Equal("todo", second.GetProperty("status").GetString());
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(app.DatabaseConnectionString);
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout();
    }

    private Task<HttpResponseMessage> PostTaskAsync(string project, string title, string idempotencyKey, HttpClient? client = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = JsonContent.Create(new { project, title }) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return (client ?? _client).SendAsync(request, TestHelpers.Ct).Timeout();
    }

    private async Task<int> CountAsync(string project) =>
        (await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={project}", TestHelpers.Ct).Timeout()).GetProperty("items").GetArrayLength();
}

internal static class IdempotencyRequests
{
    public static HttpRequestMessage WithKey(this HttpRequestMessage request, string? key)
    {
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        return request;
    }
}
