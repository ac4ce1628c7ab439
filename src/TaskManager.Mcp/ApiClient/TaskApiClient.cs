using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TaskManager.Mcp.ApiClient;

/// <summary>The api refused a request; <see cref="Problem"/> says why in its own words.</summary>
public sealed class ApiProblemException(HttpStatusCode status, ApiProblem problem)
    : Exception(problem.Detail ?? problem.Title ?? status.ToString())
{
    public HttpStatusCode Status { get; } = status;
    public ApiProblem Problem { get; } = problem;
}

/// <summary>
/// Calls the api (service discovery name <c>api</c>, standard resilience handler) with the MCP caller's own bearer
/// token, so the api authorises and attributes every change to the real actor.
/// </summary>
public sealed class TaskApiClient(HttpClient http, IHttpContextAccessor context)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<WhoAmI> WhoAmIAsync(string bearerToken, CancellationToken ct) =>
        SendAsync<WhoAmI>(HttpMethod.Get, "api/me", null, ct, bearerToken: bearerToken);

    public Task<Page<TaskDto>> FindTasksAsync(IEnumerable<KeyValuePair<string, string>> query, CancellationToken ct) =>
        SendAsync<Page<TaskDto>>(HttpMethod.Get, "api/tasks" + QueryString.Create(query!), null, ct);

    public Task<TaskDto> GetTaskAsync(string task, CancellationToken ct) =>
        SendAsync<TaskDto>(HttpMethod.Get, $"api/tasks/{Uri.EscapeDataString(task)}", null, ct);

    public Task<TaskDto> CreateTaskAsync(JsonObject body, string? idempotencyKey, CancellationToken ct) =>
        SendAsync<TaskDto>(HttpMethod.Post, "api/tasks", body, ct, idempotencyKey: idempotencyKey);

    public Task<TaskDto> UpdateTaskAsync(string task, JsonObject body, int? expectedVersion, CancellationToken ct) =>
        SendAsync<TaskDto>(HttpMethod.Patch, $"api/tasks/{Uri.EscapeDataString(task)}", body, ct, expectedVersion);

    public Task<TaskDto> ArchiveTaskAsync(string task, bool archive, int? expectedVersion, CancellationToken ct) =>
        SendAsync<TaskDto>(HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/{(archive ? "archive" : "restore")}", null, ct, expectedVersion);

    private async Task<T> SendAsync<T>(
        HttpMethod method, string path, JsonObject? body, CancellationToken ct,
        int? expectedVersion = null, string? idempotencyKey = null, string? bearerToken = null)
    {
        using var request = new HttpRequestMessage(method, path);
        var authorization = bearerToken is null
            ? context.HttpContext?.Request.Headers.Authorization.ToString()
            : $"Bearer {bearerToken}";
        if (!string.IsNullOrEmpty(authorization))
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        if (expectedVersion is { } version)
        {
            request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{version}\""));
        }
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        using var response = await http.SendAsync(request, ct);
        if (response.IsSuccessStatusCode)
        {
            return (await response.Content.ReadFromJsonAsync<T>(Json, ct))!;
        }
        ApiProblem? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            problem = await response.Content.ReadFromJsonAsync<ApiProblem>(Json, ct);
        }
        throw new ApiProblemException(response.StatusCode,
            problem ?? new ApiProblem(response.ReasonPhrase, null, (int)response.StatusCode, null, null, null));
    }
}
