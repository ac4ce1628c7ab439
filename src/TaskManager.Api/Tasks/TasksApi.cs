using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using TaskManager.Api.Auth;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;

namespace TaskManager.Api.Tasks;

public static class TasksApi
{
    public const int MaxLabels = 20;
    public const int MaxLabelLength = 32;
    public const int MaxAssigneeLength = 100;

    public static RouteGroupBuilder MapTasksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").RequireScope(Scopes.Read).WithApiConventions();

        group.MapGet("/", ListTasks).WithName("ListTasks")
            .WithSummary("Lists tasks in board order (manual position), filtered; keyset-paged with nextCursor.")
            .WithDescription("status and priority may repeat (status=todo&status=doing) or be comma-separated. q searches title and description (Postgres full-text, all words). ready=true keeps tasks that are todo, not archived and not blocked.")
            .AcceptsQuery("project", "status", "assignee", "label", "priority", "parent", "ready", "q", "includeArchived", "limit", "cursor");
        group.MapPost("/", CreateTask).WithName("CreateTask").WithSummary("Creates a task at the end of its status column.")
            .RequireScope(Scopes.Write).WithIdempotency()
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/claim", ClaimTask).WithName("ClaimTask")
            .WithSummary("Atomically assigns the best ready task (priority, then board order) to the caller and moves it to doing; 204 when none is ready.")
            .RequireScope(Scopes.Write);
        group.MapGet("/{task}", GetTask).WithName("GetTask").WithSummary("Gets a task by id or KEY-n reference; ETag is its version.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{task}", UpdateTask).WithName("UpdateTask")
            .WithSummary("Changes the fields present in the body (null clears). If-Match makes it conflict-safe; without it the last writer wins.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems();
        group.MapPost("/{task}/move", MoveTask).WithName("MoveTask")
            .WithSummary("Moves a task to a status column, before or after a neighbour (or to the end); no other task is renumbered.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems();
        group.MapPost("/{task}/archive", ArchiveTask).WithName("ArchiveTask").WithSummary("Archives a task (hidden from lists by default).")
            .RequireScope(Scopes.Write).WithConcurrencyProblems();
        group.MapPost("/{task}/restore", RestoreTask).WithName("RestoreTask").WithSummary("Restores an archived task.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems();
        group.MapGet("/{task}/blockers", ListBlockers).WithName("ListBlockers").WithSummary("Lists the tasks this task is blocked by, done or not.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{task}/blockers", AddBlocker).WithName("AddBlocker")
            .WithSummary("Marks the task as blocked by another task (any project); a dependency cycle is refused with 409.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems();
        group.MapDelete("/{task}/blockers/{blocker}", RemoveBlocker).WithName("RemoveBlocker")
            .WithSummary("Removes a blocked-by dependency; removing one that is not there changes nothing.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems();
        return group;
    }

    // [FromQuery] and the defaults only keep the OpenAPI document right: the compile-time request delegate generator
    // (Native AOT) would describe the arrays as a GET body and as required (dotnet/aspnetcore#65344). Binding is unchanged.
    public static async Task<Results<Ok<Page<TaskDto>>, ValidationProblem>> ListTasks(
        TaskStore tasks, ProjectStore projects,
        string? project, [FromQuery] string[]? status = null, string? assignee = null, string? label = null, [FromQuery] string[]? priority = null,
        string? parent = null, bool? ready = null, string? q = null, bool? includeArchived = null, int? limit = null, string? cursor = null,
        CancellationToken ct = default)
    {
        var validation = new Validation();
        var statuses = ParseEnums<TaskState>(status, "status", validation);
        var priorities = ParseEnums<TaskPriority>(priority, "priority", validation);
        Paging.ValidateLimit(limit, validation);

        (string, Guid)? after = null;
        if (cursor is not null)
        {
            if (Paging.Decode(cursor, 2) is [var position, var id] && IsPosition(position) && Guid.TryParse(id, out var afterId))
            {
                after = (position, afterId);
            }
            else
            {
                validation.Add("cursor", Paging.BadCursor);
            }
        }

        Guid? projectId = null;
        if (project is not null)
        {
            projectId = (await projects.FindAsync(project, ct))?.Id;
            if (projectId is null)
            {
                validation.Add("project", $"Project '{project}' does not exist.");
            }
        }
        var parentId = parent is null ? null : (await FindReferencedTaskAsync(parent, "parent", tasks, validation, ct))?.Id;
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var filter = new TaskFilter(projectId, statuses, NullIfBlank(assignee), NullIfBlank(label), priorities, parentId,
            ready ?? false, NullIfBlank(q), includeArchived ?? false);
        var pageSize = limit ?? Paging.DefaultLimit;
        var rows = await tasks.ListAsync(filter, after, pageSize + 1, ct);
        var next = rows.Count > pageSize ? Paging.Encode(rows[pageSize - 1].Position, rows[pageSize - 1].Id.ToString()) : null;
        return TypedResults.Ok(new Page<TaskDto>([.. rows.Take(pageSize).Select(TaskDto.From)], next));
    }

    public static async Task<Results<Created<TaskDto>, ValidationProblem, ProblemHttpResult>> CreateTask(
        CreateTaskRequest request, TaskStore tasks, ProjectStore projects, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        var validation = new Validation();
        ProjectRow? project = null;
        if (string.IsNullOrWhiteSpace(request.Project))
        {
            validation.Add("project", "project is required: the project's key (e.g. WEB) or id.");
        }
        else if ((project = await projects.FindAsync(request.Project.Trim(), ct)) is null)
        {
            validation.Add("project", $"Project '{request.Project}' does not exist.");
        }
        var title = ProjectsApi.ValidateTitle(request.Title, validation);
        ProjectsApi.ValidateDescription(request.Description, validation);
        var assignee = ValidateAssignee(request.Assignee, validation);
        var labels = ValidateLabels(request.Labels, validation);

        var parent = request.Parent is null ? null : await FindReferencedTaskAsync(request.Parent, "parent", tasks, validation, ct);
        if (parent is not null && project is not null && parent.ProjectId != project.Id)
        {
            validation.Add("parent", "A subtask must be in the same project as its parent.");
        }
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var values = new TaskChanges(title, request.Description ?? "", request.Status ?? TaskState.Todo,
            request.Priority ?? TaskPriority.Medium, assignee, labels, request.DueDate, parent?.Id);
        var row = await tasks.CreateAsync(project!.Id, values, user.Actor(), ct);
        if (row is null)
        {
            return Problems.Conflict($"Project '{project.Key}' is archived; restore it before adding tasks.");
        }
        Concurrency.SetETag(http, row.Version);
        return TypedResults.Created($"/api/tasks/{row.Ref}", TaskDto.From(row));
    }

    public static async Task<Results<Ok<TaskDto>, ProblemHttpResult>> GetTask(
        string task, TaskStore tasks, HttpContext http, CancellationToken ct)
    {
        if (!TaskReference.TryParse(task, out var reference))
        {
            return Problems.BadRequest(TaskReference.Describe(task));
        }
        var row = await tasks.FindAsync(reference, ct);
        if (row is null)
        {
            return Problems.NotFound($"Task '{task}' does not exist.");
        }
        Concurrency.SetETag(http, row.Version);
        return TypedResults.Ok(TaskDto.From(row));
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> UpdateTask(
        string task, UpdateTaskRequest request, TaskStore tasks, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion) is { } badTarget)
        {
            return badTarget;
        }

        var validation = new Validation();
        var title = request.Title.IsSet ? ProjectsApi.ValidateTitle(request.Title.Value, validation) : null;
        if (request.Description.IsSet)
        {
            ProjectsApi.ValidateDescription(request.Description.Value, validation);
        }
        if (request.Status is { IsSet: true, Value: null })
        {
            validation.Add("status", "status cannot be null; use todo, doing, review or done.");
        }
        if (request.Priority is { IsSet: true, Value: null })
        {
            validation.Add("priority", "priority cannot be null; use low, medium, high or critical.");
        }
        var assignee = request.Assignee.IsSet ? ValidateAssignee(request.Assignee.Value, validation) : null;
        var labels = request.Labels.IsSet ? ValidateLabels(request.Labels.Value, validation) : null;

        var parentId = request.Parent is { IsSet: true, Value: { } parent }
            ? (await FindReferencedTaskAsync(parent, "parent", tasks, validation, ct))?.Id
            : null;
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var result = await tasks.UpdateAsync(reference, expectedVersion, current => new TaskChanges(
            title ?? current.Title,
            request.Description.IsSet ? request.Description.Value ?? "" : current.Description,
            request.Status.Value ?? current.Status,
            request.Priority.Value ?? current.Priority,
            request.Assignee.IsSet ? assignee : current.Assignee,
            labels ?? current.Labels,
            request.DueDate.IsSet ? request.DueDate.Value : current.DueDate,
            request.Parent.IsSet ? parentId : current.ParentId), mayChangeParent: request.Parent.IsSet, user.Actor(), ct);
        return ToHttp(result, task, http);
    }

    public static Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> ArchiveTask(
        string task, TaskStore tasks, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
        SetArchived(task, archived: true, tasks, user, http, ct);

    public static Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> RestoreTask(
        string task, TaskStore tasks, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
        SetArchived(task, archived: false, tasks, user, http, ct);

    private static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> SetArchived(
        string task, bool archived, TaskStore tasks, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion) is { } badTarget)
        {
            return badTarget;
        }
        var result = await tasks.SetArchivedAsync(reference, expectedVersion, archived, user.Actor(), ct);
        return ToHttp(result, task, http);
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> MoveTask(
        string task, MoveTaskRequest request, TaskStore tasks, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion) is { } badTarget)
        {
            return badTarget;
        }
        var validation = new Validation();
        if (request.Before is not null && request.After is not null)
        {
            validation.Add("before", "Give before or after, not both.");
        }
        (TaskReference, bool, string)? anchor = null;
        foreach (var (text, after, field) in new[] { (request.Before, false, "before"), (request.After, true, "after") })
        {
            if (text is null)
            {
                continue;
            }
            if (TaskReference.TryParse(text, out var neighbour))
            {
                anchor = (neighbour, after, field);
            }
            else
            {
                validation.Add(field, TaskReference.Describe(text));
            }
        }
        if (request.Status is null && anchor is null)
        {
            validation.Add("status", "Give a status, a neighbour (before or after), or both.");
        }
        if (!validation.IsValid)
        {
            return validation.Problem();
        }
        var result = await tasks.MoveAsync(reference, expectedVersion, request.Status, anchor, user.Actor(), ct);
        return ToHttp(result, task, http);
    }

    public static async Task<Results<Ok<TaskDto>, NoContent, ValidationProblem>> ClaimTask(
        ClaimTaskRequest request, TaskStore tasks, ProjectStore projects, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        var validation = new Validation();
        Guid? projectId = null;
        if (request.Project is not null && (projectId = (await projects.FindAsync(request.Project, ct))?.Id) is null)
        {
            validation.Add("project", $"Project '{request.Project}' does not exist.");
        }
        var labels = request.Labels is null ? null : ValidateLabels(request.Labels, validation);
        var assignee = ValidateAssignee(request.Assignee, validation) ?? user.Actor();
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var filter = new ClaimFilter(projectId, labels is { Length: > 0 } ? labels : null,
            request.Priority is { Length: > 0 } p ? [.. p.Select(x => Naming.SnakeCase(x))] : null);
        var row = await tasks.ClaimAsync(filter, assignee, user.Actor(), ct);
        if (row is null)
        {
            return TypedResults.NoContent();
        }
        Concurrency.SetETag(http, row.Version);
        return TypedResults.Ok(TaskDto.From(row));
    }

    public static async Task<Results<Ok<TaskDto[]>, ProblemHttpResult>> ListBlockers(string task, TaskStore tasks, CancellationToken ct)
    {
        if (!TaskReference.TryParse(task, out var reference))
        {
            return Problems.BadRequest(TaskReference.Describe(task));
        }
        var row = await tasks.FindAsync(reference, ct);
        if (row is null)
        {
            return Problems.NotFound($"Task '{task}' does not exist.");
        }
        return TypedResults.Ok((await tasks.ListBlockersAsync(row.Id, ct)).Select(TaskDto.From).ToArray());
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> AddBlocker(
        string task, AddBlockerRequest request, TaskStore tasks, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion) is { } badTarget)
        {
            return badTarget;
        }
        if (!TaskReference.TryParse(request.Blocker, out var blocker))
        {
            return Problems.Invalid("blocker", request.Blocker is null ? "blocker is required: the blocking task's ref or id." : TaskReference.Describe(request.Blocker));
        }
        var result = await tasks.AddBlockerAsync(reference, expectedVersion, blocker, user.Actor(), ct);
        return ToHttp(result, task, http);
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> RemoveBlocker(
        string task, string blocker, TaskStore tasks, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion) is { } badTarget)
        {
            return badTarget;
        }
        if (!TaskReference.TryParse(blocker, out var blockerReference))
        {
            return Problems.Invalid("blocker", TaskReference.Describe(blocker));
        }
        var result = await tasks.RemoveBlockerAsync(reference, expectedVersion, blockerReference, user.Actor(), ct);
        return ToHttp(result, task, http);
    }

    private static Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult> ToHttp(WriteResult<TaskRow> result, string task, HttpContext http) =>
        result.ToHttp($"Task '{task}'", TaskDto.From, t => t.Version, http);

    /// <summary>The task a write addresses and the version it expects (If-Match), or the problem with either.</summary>
    private static ProblemHttpResult? ReadWriteTarget(string task, HttpRequest request, out TaskReference reference, out int? expectedVersion)
    {
        expectedVersion = null;
        if (!TaskReference.TryParse(task, out reference))
        {
            return Problems.BadRequest(TaskReference.Describe(task));
        }
        return Concurrency.TryGetExpectedVersion(request, out expectedVersion, out var ifMatchError)
            ? null
            : Problems.BadRequest(ifMatchError!);
    }

    /// <summary>The task a field refers to; a malformed or unknown reference is a validation error on that field.</summary>
    private static async Task<TaskRow?> FindReferencedTaskAsync(string text, string field, TaskStore tasks, Validation validation, CancellationToken ct)
    {
        if (!TaskReference.TryParse(text, out var reference))
        {
            validation.Add(field, TaskReference.Describe(text));
            return null;
        }
        var row = await tasks.FindAsync(reference, ct);
        if (row is null)
        {
            validation.Add(field, $"Task '{text}' does not exist.");
        }
        return row;
    }

    internal static string? ValidateAssignee(string? assignee, Validation validation)
    {
        var trimmed = NullIfBlank(assignee);
        if (trimmed is { Length: > MaxAssigneeLength })
        {
            validation.Add("assignee", $"assignee must be at most {MaxAssigneeLength} characters.");
        }
        return trimmed;
    }

    internal static string[] ValidateLabels(string[]? labels, Validation validation)
    {
        if (labels is null)
        {
            return [];
        }
        var cleaned = labels.Select(l => l?.Trim() ?? "").Distinct(StringComparer.Ordinal).ToArray();
        if (cleaned.Length > MaxLabels)
        {
            validation.Add("labels", $"A task has at most {MaxLabels} labels (got {cleaned.Length}).");
        }
        foreach (var label in cleaned.Where(l => l.Length is 0 or > MaxLabelLength || l.Any(char.IsControl)))
        {
            validation.Add("labels", $"Label '{label}' must be 1 to {MaxLabelLength} printable characters.");
        }
        return cleaned;
    }

    private static string[]? ParseEnums<T>(string[]? values, string field, Validation validation)
        where T : struct, Enum
    {
        var parts = (values ?? []).SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        if (parts.Length == 0)
        {
            return null;
        }
        var allowed = Enum.GetValues<T>().Select(v => Naming.SnakeCase(v)).ToArray();
        foreach (var part in parts.Where(p => !allowed.Contains(p)))
        {
            validation.Add(field, $"'{part}' is not a {field}; use {string.Join(", ", allowed)}.");
        }
        return parts;
    }

    /// <summary>A numeric position as Postgres prints it (positions before the first task are negative).</summary>
    private static bool IsPosition(string text)
    {
        var digits = text.StartsWith('-') ? text[1..] : text;
        return digits.Length is > 0 and < 1000 && digits.All(c => char.IsAsciiDigit(c) || c == '.')
            && digits.Count(c => c == '.') <= 1 && char.IsAsciiDigit(digits[0]) && char.IsAsciiDigit(digits[^1]);
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
