using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

using TaskManager.Mcp.Tools;

namespace TaskManager.Mcp.ApiClient;

/// <summary>The api refused a request; <see cref="Problem"/> says why in its own words.</summary>
public sealed class ApiProblemException(HttpStatusCode status, ApiProblem problem, TimeSpan? retryAfter = null)
    : Exception(problem.Detail ?? problem.Title ?? status.ToString())
{
    public HttpStatusCode Status { get; } = status;
    public ApiProblem Problem { get; } = problem;

    /// <summary>How long the api asked to wait before retrying (503, 429).</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// Calls the api (service discovery name <c>api</c>, standard resilience handler) with the MCP caller's own bearer
/// token, so the api authorises and attributes every change to the real actor.
/// </summary>
public sealed class TaskApiClient(HttpClient http, IHttpContextAccessor context)
{
    private static McpJsonContext Json => McpJsonContext.Default;

    public Task<WhoAmI> WhoAmIAsync(string bearerToken, CancellationToken ct) =>
        SendAsync(Json.WhoAmI, HttpMethod.Get, "api/me", null, ct, bearerToken: bearerToken);

    /// <summary>Brief rows (the api's <c>view=summary</c>): a tenth of whole tasks to send, read and write again.</summary>
    public Task<Page<TaskSummary>> FindTasksAsync(IEnumerable<KeyValuePair<string, string>> query, CancellationToken ct) =>
        SendAsync(Json.PageTaskSummary, HttpMethod.Get, "api/tasks" + QueryString.Create(query.Append(new("view", "summary"))!), null, ct);

    public Task<TaskDto> GetTaskAsync(string task, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Get, $"api/tasks/{Uri.EscapeDataString(task)}", null, ct);

    public Task<TaskDto> CreateTaskAsync(JsonObject body, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Post, "api/tasks", body, ct, idempotencyKey: idempotencyKey);

    public Task<TaskDto> UpdateTaskAsync(string task, JsonObject body, int? expectedVersion, Guid? leaseId, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Patch, $"api/tasks/{Uri.EscapeDataString(task)}", body, ct, expectedVersion, idempotencyKey, leaseId: leaseId);

    public Task<TaskDto> ArchiveTaskAsync(string task, bool archive, int? expectedVersion, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/{(archive ? "archive" : "restore")}", null, ct, expectedVersion, idempotencyKey);

    public Task<TaskDto> MoveTaskAsync(string task, JsonObject body, int? expectedVersion, Guid? leaseId, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/move", body, ct, expectedVersion, idempotencyKey, leaseId: leaseId);

    public Task<LeaseDto> HeartbeatAsync(string task, Guid? leaseId, CancellationToken ct) =>
        SendAsync(Json.LeaseDto, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/heartbeat", null, ct, leaseId: leaseId);

    public Task<TaskDto> ReleaseTaskAsync(string task, JsonObject handoff, Guid? leaseId, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/release", handoff, ct, idempotencyKey: idempotencyKey, leaseId: leaseId);

    public Task<HandoffDto[]> ListHandoffsAsync(string task, CancellationToken ct) =>
        SendAsync(Json.HandoffDtoArray, HttpMethod.Get, $"api/tasks/{Uri.EscapeDataString(task)}/handoffs", null, ct);

    /// <summary>The claimed task, or null when nothing is ready (the api answers 204).</summary>
    public Task<TaskDto?> ClaimTaskAsync(JsonObject body, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Post, "api/tasks/claim", body, ct, idempotencyKey: idempotencyKey);

    public Task<TaskDto[]> ListBlockersAsync(string task, CancellationToken ct) =>
        SendAsync(Json.TaskDtoArray, HttpMethod.Get, $"api/tasks/{Uri.EscapeDataString(task)}/blockers", null, ct);

    public Task<TaskDto> AddBlockerAsync(string task, string blocker, int? expectedVersion, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/blockers", new JsonObject { ["blocker"] = blocker }, ct,
            expectedVersion, idempotencyKey);

    public Task<TaskDto> RemoveBlockerAsync(string task, string blocker, int? expectedVersion, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.TaskDto, HttpMethod.Delete, $"api/tasks/{Uri.EscapeDataString(task)}/blockers/{Uri.EscapeDataString(blocker)}", null, ct,
            expectedVersion, idempotencyKey);

    public Task<PlanDto> CreatePlanAsync(JsonObject body, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.PlanDto, HttpMethod.Post, "api/plans", body, ct, idempotencyKey: idempotencyKey);

    public Task<Page<CommentDto>> ListCommentsAsync(string task, string? cursor, int limit, bool newestFirst, CancellationToken ct) =>
        SendAsync(Json.PageCommentDto, HttpMethod.Get, $"api/tasks/{Uri.EscapeDataString(task)}/comments" + Paged(cursor, limit, newestFirst), null, ct);

    public Task<CommentDto> AddCommentAsync(string task, string body, Guid? leaseId, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.CommentDto, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/comments", new JsonObject { ["body"] = body }, ct,
            idempotencyKey: idempotencyKey, leaseId: leaseId);

    public Task<Page<EventDto>> TaskHistoryAsync(string task, string? cursor, int limit, bool newestFirst, CancellationToken ct) =>
        SendAsync(Json.PageEventDto, HttpMethod.Get, $"api/tasks/{Uri.EscapeDataString(task)}/history" + Paged(cursor, limit, newestFirst), null, ct);

    public Task<Page<ProjectDto>> FindProjectsAsync(IEnumerable<KeyValuePair<string, string>> query, CancellationToken ct) =>
        SendAsync(Json.PageProjectDto, HttpMethod.Get, "api/projects" + QueryString.Create(query!), null, ct);

    public Task<ProjectDto> GetProjectAsync(string project, CancellationToken ct) =>
        SendAsync(Json.ProjectDto, HttpMethod.Get, $"api/projects/{Uri.EscapeDataString(project)}", null, ct);

    public Task<ProjectDto> CreateProjectAsync(JsonObject body, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.ProjectDto, HttpMethod.Post, "api/projects", body, ct, idempotencyKey: idempotencyKey);

    public Task<ProjectDto> UpdateProjectAsync(string project, JsonObject body, int? expectedVersion, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.ProjectDto, HttpMethod.Patch, $"api/projects/{Uri.EscapeDataString(project)}", body, ct, expectedVersion, idempotencyKey);

    public Task<ProjectDto> ArchiveProjectAsync(string project, bool archive, int? expectedVersion, string idempotencyKey, CancellationToken ct) =>
        SendAsync(Json.ProjectDto, HttpMethod.Post, $"api/projects/{Uri.EscapeDataString(project)}/{(archive ? "archive" : "restore")}", null, ct,
            expectedVersion, idempotencyKey);

    private static string Paged(string? cursor, int limit, bool newestFirst) =>
        QueryString.Create(new ApiQuery().With("limit", limit).With("cursor", cursor).With("order", newestFirst ? "desc" : null)!).ToString();

    private async Task<T> SendAsync<T>(
        JsonTypeInfo<T> type, HttpMethod method, string path, JsonObject? body, CancellationToken ct,
        int? expectedVersion = null, string? idempotencyKey = null, string? bearerToken = null, Guid? leaseId = null)
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
            // Validating Add: a key with line breaks must never become a second header.
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        if (leaseId is { } lease)
        {
            request.Headers.Add("Lease-Id", lease.ToString());
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, Json.JsonObject);
        }

        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return default!;
        }
        if (response.IsSuccessStatusCode)
        {
            return (await response.Content.ReadFromJsonAsync(type, ct))!;
        }
        ApiProblem? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            problem = await response.Content.ReadFromJsonAsync(Json.ApiProblem, ct);
        }
        var retryAfter = response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;
        throw new ApiProblemException(response.StatusCode,
            problem ?? new ApiProblem(response.ReasonPhrase, null, (int)response.StatusCode, null, null, null), retryAfter);
    }
}
