using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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

    private Task<HttpResponseMessage> PostTaskAsync(string project, string title, string idempotencyKey, HttpClient? client = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = JsonContent.Create(new { project, title }) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return (client ?? _client).SendAsync(request, TestHelpers.Ct).Timeout();
    }

    private async Task<int> CountAsync(string project) =>
        (await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={project}", TestHelpers.Ct).Timeout()).GetProperty("items").GetArrayLength();
}
