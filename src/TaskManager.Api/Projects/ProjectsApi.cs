using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Database;
using TaskManager.Api.Http;
using TaskManager.Api.Tasks.Leases;
using TaskManager.Api.Text;

namespace TaskManager.Api.Projects;

public static partial class ProjectsApi
{
    public const int MaxTitleLength = 200;
    public const int MaxDescriptionLength = 65536;

    public static RouteGroupBuilder MapProjectsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/projects").WithTags("Projects").RequireScope(Scopes.Read).WithApiConventions();

        group.MapGet("/", ListProjects).WithName("ListProjects")
            .WithSummary("Lists projects, pinned first, then by key; q searches key, title and description.")
            .RejectsUnknownQuery();
        group.MapPost("/", CreateProject).WithName("CreateProject").WithSummary("Creates a project.")
            .RequireScope(Scopes.Write).WithIdempotency()
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{project}", GetProject).WithName("GetProject").WithSummary("Gets a project by key or id; ETag is its version.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{project}", UpdateProject).WithName("UpdateProject")
            .WithSummary("Changes the fields present in the body. If-Match makes it conflict-safe.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        group.MapPost("/{project}/archive", ArchiveProject).WithName("ArchiveProject")
            .WithSummary("Archives a project: hidden from lists, no new tasks, nothing claimed from it.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        group.MapPost("/{project}/restore", RestoreProject).WithName("RestoreProject").WithSummary("Restores an archived project.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        return group;
    }

    public static async Task<Results<Ok<Page<ProjectDto>>, ValidationProblem>> ListProjects(
        [AsParameters] ListProjectsQuery query, ProjectStore store, CancellationToken ct)
    {
        var validation = new Validation();
        Paging.ValidateLimit(query.Limit, validation);
        (bool, string)? after = null;
        if (query.Cursor is not null)
        {
            if (Paging.Decode(query.Cursor, 2) is [var pinned and ("0" or "1"), var key])
            {
                after = (pinned == "1", key);
            }
            else
            {
                validation.Add("cursor", Paging.BadCursor);
            }
        }
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var pageSize = query.Limit ?? Paging.DefaultLimit;
        var rows = await store.ListAsync(string.IsNullOrWhiteSpace(query.Q) ? null : query.Q, query.IncludeArchived ?? false, after, pageSize + 1, ct);
        var next = rows.Count > pageSize ? Paging.Encode(rows[pageSize - 1].Pinned ? "1" : "0", rows[pageSize - 1].Key) : null;
        return TypedResults.Ok(new Page<ProjectDto>([.. rows.Take(pageSize).Select(ProjectDto.From)], next));
    }

    public static async Task<Results<Created<ProjectDto>, ValidationProblem, ProblemHttpResult>> CreateProject(
        CreateProjectRequest request, ProjectStore store, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        var validation = new Validation();
        var key = request.Key?.Trim() ?? "";
        if (!KeyPattern().IsMatch(key))
        {
            validation.Add("key", "key must be 2 to 10 upper-case letters A-Z, e.g. WEB.");
        }
        var title = ValidateTitle(request.Title, validation);
        ValidateDescription(request.Description, validation);
        ValidateAgentLease(request.AgentLeaseSeconds, validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        if (request.DoneByPeopleOnly is not null && DonePolicy.RefusedToChange(http) is { } refused)
        {
            return refused;
        }
        var row = await store.CreateAsync(key, new ProjectChanges(title, request.Description ?? "", request.Pinned ?? false, request.DoneByPeopleOnly ?? false,
                request.AgentLeaseSeconds ?? DefaultAgentLeaseSeconds), user.Actor(),
            http.RecordResponse<ProjectRow>(r => Created(r, http)), ct);
        if (row is null)
        {
            return Problems.Conflict($"A project with key '{key}' already exists. Choose another key.");
        }
        return Created(row, http);
    }

    private static Created<ProjectDto> Created(ProjectRow row, HttpContext http)
    {
        Concurrency.SetETag(http, row.Version);
        return TypedResults.Created($"/api/projects/{row.Key}", ProjectDto.From(row));
    }

    public static async Task<Results<Ok<ProjectDto>, ProblemHttpResult>> GetProject(
        string project, ProjectStore store, HttpContext http, CancellationToken ct)
    {
        var row = await store.FindAsync(project, ct);
        if (row is null)
        {
            return Problems.NotFound($"Project '{project}' does not exist.");
        }
        Concurrency.SetETag(http, row.Version);
        return TypedResults.Ok(ProjectDto.From(row));
    }

    public static async Task<Results<Ok<ProjectDto>, ValidationProblem, ProblemHttpResult>> UpdateProject(
        string project, UpdateProjectRequest request, ProjectStore store, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (!Concurrency.TryGetExpectedVersion(http.Request, out var expectedVersion, out var ifMatchError))
        {
            return Problems.BadRequest(ifMatchError!);
        }
        var validation = new Validation();
        if (request.Key.IsSet)
        {
            validation.Add("key", "key cannot be changed: it is part of every task reference (KEY-n).");
        }
        var title = request.Title.IsSet ? ValidateTitle(request.Title.Value, validation) : null;
        if (request.Description.IsSet)
        {
            ValidateDescription(request.Description.Value, validation);
        }
        if (request.Pinned is { IsSet: true, Value: null })
        {
            validation.Add("pinned", "pinned cannot be null; use true or false.");
        }
        if (request.DoneByPeopleOnly is { IsSet: true, Value: null })
        {
            validation.Add("doneByPeopleOnly", "doneByPeopleOnly cannot be null; use true or false.");
        }
        if (request.AgentLeaseSeconds.IsSet)
        {
            if (request.AgentLeaseSeconds.Value is null)
            {
                validation.Add("agentLeaseSeconds", $"agentLeaseSeconds cannot be null; use 0 (no expiry) or 1 to {MaxLeaseSeconds}.");
            }
            ValidateAgentLease(request.AgentLeaseSeconds.Value, validation);
        }
        if (!validation.IsValid)
        {
            return validation.Problem();
        }
        if (request.DoneByPeopleOnly.IsSet && DonePolicy.RefusedToChange(http) is { } refused)
        {
            return refused;
        }

        var result = await store.UpdateAsync(project, expectedVersion, current => new ProjectChanges(
            title ?? current.Title,
            request.Description.IsSet ? request.Description.Value ?? "" : current.Description,
            request.Pinned.Value ?? current.Pinned,
            request.DoneByPeopleOnly.Value ?? current.DoneByPeopleOnly,
            request.AgentLeaseSeconds.Value ?? current.AgentLeaseSeconds), user.Actor(), RecordResponse(http), ct);
        return result.ToHttp($"Project '{project}'", ProjectDto.From, p => p.Version, http);
    }

    public static Task<Results<Ok<ProjectDto>, ValidationProblem, ProblemHttpResult>> ArchiveProject(
        string project, ProjectStore store, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
        SetArchived(project, archived: true, store, user, http, ct);

    public static Task<Results<Ok<ProjectDto>, ValidationProblem, ProblemHttpResult>> RestoreProject(
        string project, ProjectStore store, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
        SetArchived(project, archived: false, store, user, http, ct);

    private static async Task<Results<Ok<ProjectDto>, ValidationProblem, ProblemHttpResult>> SetArchived(
        string project, bool archived, ProjectStore store, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (!Concurrency.TryGetExpectedVersion(http.Request, out var expectedVersion, out var ifMatchError))
        {
            return Problems.BadRequest(ifMatchError!);
        }
        var result = await store.SetArchivedAsync(project, expectedVersion, archived, user.Actor(), RecordResponse(http), ct);
        return result.ToHttp($"Project '{project}'", ProjectDto.From, p => p.Version, http);
    }

    private static BeforeCommit<ProjectRow>? RecordResponse(HttpContext http) => http.RecordResponse<ProjectRow, ProjectDto>(ProjectDto.From, p => p.Version);

    /// <summary>The project a new task names (key or id); a missing or unknown one is a validation error on <c>project</c>.</summary>
    internal static async Task<ProjectRow?> FindRequiredAsync(string? project, ProjectStore projects, Validation validation, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(project))
        {
            validation.Add("project", "project is required: the project's key (e.g. WEB) or id.");
            return null;
        }
        var row = await projects.FindAsync(project.Trim(), ct);
        if (row is null)
        {
            validation.Add("project", $"Project '{project}' does not exist.");
        }
        return row;
    }

    internal static string ValidateTitle(string? title, Validation validation, string field = "title")
    {
        var trimmed = title?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            validation.Add(field, $"{field} is required.");
        }
        else if (trimmed.Length > MaxTitleLength)
        {
            validation.Add(field, $"{field} must be at most {MaxTitleLength} characters (got {trimmed.Length}).");
        }
        else
        {
            TextRules.SingleLine(title, field, validation);
        }
        return trimmed;
    }

    internal static void ValidateDescription(string? description, Validation validation)
    {
        if (description is { Length: > MaxDescriptionLength })
        {
            validation.Add("description", $"description must be at most {MaxDescriptionLength} characters (got {description.Length}).");
        }
        else
        {
            TextRules.MultiLine(description, "description", validation);
        }
    }

    /// <summary>An agent's lease in a new project: 15 minutes without a write or heartbeat.</summary>
    public const int DefaultAgentLeaseSeconds = 900;

    private const int MaxLeaseSeconds = LeaseRules.MaxSeconds;

    private static void ValidateAgentLease(int? seconds, Validation validation)
    {
        if (seconds is < 0 or > MaxLeaseSeconds)
        {
            validation.Add("agentLeaseSeconds", $"agentLeaseSeconds must be 0 (agents' claims do not expire) or 1 to {MaxLeaseSeconds} (a week).");
        }
    }

    [GeneratedRegex("^[A-Z]{2,10}$")]
    private static partial Regex KeyPattern();
}
