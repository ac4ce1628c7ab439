using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks.Leases;
using TaskManager.Api.Text;

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
            .WithDescription("status and priority may repeat (status=todo&status=doing) or be comma-separated. q searches title and description (Postgres full-text, all words). ready=true keeps tasks that are todo, not archived and not blocked. view=summary returns brief rows (ref, title, status, priority, assignee, labels, blockedBy, ready, version, heldBy) instead of whole tasks. heldBy keeps tasks whose lease that actor holds; leaseExpired=true keeps tasks that went back to todo because their holder's lease ran out (until claimed again).")
            .RejectsUnknownQuery();
        group.MapPost("/", CreateTask).WithName("CreateTask").WithSummary("Creates a task at the end of its status column.")
            .RequireScope(Scopes.Write).WithIdempotency()
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{task}", GetTask).WithName("GetTask").WithSummary("Gets a task by id or KEY-n reference; ETag is its version.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{task}", UpdateTask).WithName("UpdateTask")
            .WithSummary("Changes the fields present in the body (null clears). If-Match makes it conflict-safe; without it the last writer wins.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        group.MapPost("/{task}/archive", ArchiveTask).WithName("ArchiveTask").WithSummary("Archives a task (hidden from lists by default).")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        group.MapPost("/{task}/restore", RestoreTask).WithName("RestoreTask").WithSummary("Restores an archived task.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        return group;
    }

    public static async Task<Results<Ok<Page<TaskDto>>, Ok<Page<TaskSummaryDto>>, ValidationProblem>> ListTasks(
        [AsParameters] ListTasksQuery query, TaskStore tasks, ProjectStore projects, CancellationToken ct)
    {
        var validation = new Validation();
        var statuses = ParseEnums<TaskState>(query.Status, "status", validation);
        var priorities = ParseEnums<TaskPriority>(query.Priority, "priority", validation);
        Paging.ValidateLimit(query.Limit, validation);
        if (query.View is not (null or "full" or "summary"))
        {
            validation.Add("view", "view must be full (whole tasks, the default) or summary (brief rows).");
        }

        (string, Guid)? after = null;
        if (query.Cursor is not null)
        {
            if (Paging.Decode(query.Cursor, 2) is [var position, var id] && IsPosition(position) && Guid.TryParse(id, out var afterId))
            {
                after = (position, afterId);
            }
            else
            {
                validation.Add("cursor", Paging.BadCursor);
            }
        }

        Guid? projectId = null;
        if (query.Project is not null)
        {
            projectId = (await projects.FindAsync(query.Project, ct))?.Id;
            if (projectId is null)
            {
                validation.Add("project", $"Project '{query.Project}' does not exist.");
            }
        }
        var parentId = query.Parent is null ? null : (await FindReferencedTaskAsync(query.Parent, "parent", tasks, validation, ct))?.Id;
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var filter = new TaskFilter(projectId, statuses, NullIfBlank(query.Assignee), NullIfBlank(query.Label), priorities, parentId,
            query.Ready ?? false, NullIfBlank(query.Q), query.IncludeArchived ?? false, NullIfBlank(query.HeldBy), query.LeaseExpired);
        var pageSize = query.Limit ?? Paging.DefaultLimit;
        // A lease that ran out and was not swept yet shows as lease.expired: a list stays a read (up to 200 expiries would
        // make it a chain of writes); reading the task, claiming and the sweep expire it.
        var rows = await tasks.ListAsync(filter, after, pageSize + 1, ct);
        var next = rows.Count > pageSize ? Paging.Encode(rows[pageSize - 1].Position, rows[pageSize - 1].Id.ToString()) : null;
        return query.View == "summary"
            ? TypedResults.Ok(new Page<TaskSummaryDto>([.. rows.Take(pageSize).Select(TaskSummaryDto.From)], next))
            : TypedResults.Ok(new Page<TaskDto>([.. rows.Take(pageSize).Select(TaskDto.From)], next));
    }

    public static async Task<Results<Created<TaskDto>, ValidationProblem, ProblemHttpResult>> CreateTask(
        CreateTaskRequest request, TaskStore tasks, ProjectStore projects, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        var validation = new Validation();
        var project = await ProjectsApi.FindRequiredAsync(request.Project, projects, validation, ct);
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
        if (DonePolicy.Refused(http, request.Status, (project!.Key, project.DoneByPeopleOnly)) is { } refused)
        {
            return refused;
        }

        var values = new TaskChanges(title, request.Description ?? "", request.Status ?? TaskState.Todo,
            request.Priority ?? TaskPriority.Medium, assignee, labels, request.DueDate, parent?.Id);
        var row = await tasks.CreateAsync(project!.Id, values, user.Actor(), http.RecordResponse<TaskRow>(r => Created(r, http)), ct);
        if (row is null)
        {
            return Problems.Conflict($"Project '{project.Key}' is archived; restore it before adding tasks.");
        }
        return Created(row, http);
    }

    private static Created<TaskDto> Created(TaskRow row, HttpContext http)
    {
        Concurrency.SetETag(http, row.Version);
        return TypedResults.Created($"/api/tasks/{row.Ref}", TaskDto.From(row));
    }

    public static async Task<Results<Ok<TaskDto>, ProblemHttpResult>> GetTask(
        string task, TaskStore tasks, LeaseStore leases, HttpContext http, CancellationToken ct)
    {
        var (row, problem) = await TaskRoute.FindAsync(task, tasks, ct);
        if (row is null)
        {
            return problem!;
        }
        if (row.Lease is { Expired: true })
        {
            // Expired when read: the answer shows the task back in todo, not a lease that no longer holds.
            await leases.TryExpireAsync(row.Id, ct);
            row = (await tasks.FindAsync(new TaskReference(row.Id, null, 0), ct))!;
        }
        Concurrency.SetETag(http, row.Version);
        return TypedResults.Ok(TaskDto.From(row));
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> UpdateTask(
        string task, UpdateTaskRequest request, TaskStore tasks, ProjectStore projects, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (TaskRoute.ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion, out var leaseId) is { } badTarget)
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
        if (await DonePolicy.RefusedForTaskAsync(http, request.Status.Value, reference, projects, ct) is { } refused)
        {
            return refused;
        }

        var result = await tasks.UpdateAsync(reference, expectedVersion, current => new TaskChanges(
            title ?? current.Title,
            request.Description.IsSet ? request.Description.Value ?? "" : current.Description,
            request.Status.Value ?? current.Status,
            request.Priority.Value ?? current.Priority,
            request.Assignee.IsSet ? assignee : current.Assignee,
            labels ?? current.Labels,
            request.DueDate.IsSet ? request.DueDate.Value : current.DueDate,
            request.Parent.IsSet ? parentId : current.ParentId), user.Actor(),
            TaskRoute.RecordResponse(http), ct, leaseId);
        return TaskRoute.ToHttp(result, task, http);
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
        if (TaskRoute.ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion, out var leaseId) is { } badTarget)
        {
            return badTarget;
        }
        var result = await tasks.SetArchivedAsync(reference, expectedVersion, archived, user.Actor(), TaskRoute.RecordResponse(http), ct, leaseId);
        return TaskRoute.ToHttp(result, task, http);
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
        else
        {
            TextRules.SingleLine(assignee, "assignee", validation);
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
        // Counted as sent, not after removing repeats: 10,000 copies of one label are a broken client, not one label.
        // One error, not one per label, so that the problem stays smaller than the request.
        if (labels.Length > MaxLabels)
        {
            validation.Add("labels", $"A task has at most {MaxLabels} labels (got {labels.Length}).");
            return cleaned;
        }
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i]?.Trim() ?? "";
            if (label.Length is 0 or > MaxLabelLength)
            {
                validation.Add("labels", $"labels[{i}] must be 1 to {MaxLabelLength} characters (got {label.Length}).");
            }
            else
            {
                TextRules.SingleLine(labels[i], "labels", validation, name: $"labels[{i}]");
            }
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
