using System.Net.Http.Json;
using System.Text.Json;

namespace TaskManager.Tests.Infrastructure;

public static class TestHelpers
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Every await in a test has a timeout and honours the test's cancellation.</summary>
    public static Task<T> Timeout<T>(this Task<T> task) => task.WaitAsync(DefaultTimeout, TestContext.Current.CancellationToken);

    public static Task Timeout(this Task task) => task.WaitAsync(DefaultTimeout, TestContext.Current.CancellationToken);

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The folder with TaskManager.sln, found above the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TaskManager.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("TaskManager.sln not found above the test binaries.");
    }

    /// <summary>A project key no other test uses (keys are 2 to 10 letters).</summary>
    public static string NewProjectKey() =>
        new([.. Enumerable.Range(0, 8).Select(_ => (char)('A' + Random.Shared.Next(26)))]);

    public static async Task<JsonElement> CreateProjectAsync(this HttpClient client, string? key = null)
    {
        key ??= NewProjectKey();
        var response = await client.PostAsJsonAsync("/api/projects", new { key, title = $"Project {key}" }, Ct).Timeout();
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct).Timeout();
    }

    public static async Task<JsonElement> CreateTaskAsync(this HttpClient client, string project, string title, object? extra = null)
    {
        var body = JsonSerializer.SerializeToNode(extra ?? new { }, Json)!.AsObject();
        body["project"] = project;
        body["title"] = title;
        var response = await client.PostAsJsonAsync("/api/tasks", body, Ct).Timeout();
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct).Timeout();
    }

    /// <summary>A new token of <paramref name="kind"/> (agent or person) with the write scope; its name starts with <paramref name="name"/>.</summary>
    public static async Task<string> CreateTokenAsync(this HttpClient admin, string name, string kind = "agent")
    {
        var response = await admin.PostAsJsonAsync("/api/tokens",
            new { name = $"{name}-{Guid.NewGuid():N}"[..20], scopes = new[] { "write" }, kind }, Ct).Timeout();
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
    }

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>(Ct).Timeout();

    /// <summary>Sends JSON text as is, for requests a typed client could not even produce.</summary>
    public static Task<HttpResponseMessage> SendRawAsync(this HttpClient client, HttpMethod method, string url, string json, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return client.SendAsync(request, Ct).Timeout();
    }

    public static async Task AssertProblemAsync(this HttpResponseMessage response, int status, string? field = null)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (field is not null)
        {
            var problem = await response.ReadJsonAsync();
            var errors = problem.TryGetProperty("errors", out var e) ? e.EnumerateObject().Select(p => p.Name).ToArray() : [];
            var named = problem.TryGetProperty("field", out var f) ? f.GetString() : null;
            Assert.True(errors.Contains(field) || named == field,
                $"Expected the problem to name '{field}', got: {problem}");
        }
    }
}
