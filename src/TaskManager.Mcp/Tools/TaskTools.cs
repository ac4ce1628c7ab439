using System.ComponentModel;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;

namespace TaskManager.Mcp.Tools;

/// <summary>A compact task row for lists: enough to choose, not the whole description.</summary>
public sealed record TaskSummary(
    string Ref, string Title, string Status, string Priority, string? Assignee, string[] Labels,
    string[] BlockedBy, bool Ready, int Version)
{
    public static TaskSummary From(TaskDto t) =>
        new(t.Ref, t.Title, t.Status, t.Priority, t.Assignee, t.Labels, t.BlockedBy, t.Ready, t.Version);
}

public sealed record TaskList(TaskSummary[] Tasks, string? NextCursor);

/// <summary>A task with what an agent needs around it.</summary>
public sealed record TaskDetail(TaskDto Task, TaskSummary[] Subtasks, TaskSummary[] Blockers, CommentDto[] RecentComments, HistoryEntry[] RecentHistory);

public sealed record ClaimResult(TaskDto? Task, string Message);

/// <summary>One change in compact form.</summary>
public sealed record HistoryEntry(long Id, DateTimeOffset At, string Actor, string Kind, string? TaskRef, System.Text.Json.JsonElement Data)
{
    public static HistoryEntry From(EventDto e) => new(e.Id, e.At, e.Actor, e.Kind, e.TaskRef, e.Data);
}

public sealed record HistoryPage(HistoryEntry[] Events, string? NextCursor);

[McpServerToolType]
public sealed class TaskTools(TaskApiClient api)
{
    private static readonly string[] Statuses = ["todo", "doing", "review", "done"];
    private static readonly string[] Priorities = ["low", "medium", "high", "critical"];

    [McpServerTool(Name = "find_tasks", Title = "Find tasks", ReadOnly = true, Idempotent = true),
     Description("Finds tasks by project, status, assignee, label, priority, readiness or text. Returns compact rows " +
                 "(ref such as WEB-42, title, status, priority, assignee, labels, blockers, version) in board order, " +
                 "and nextCursor when there are more.")]
    public async Task<TaskList> FindTasks(
        [Description("Project key (e.g. WEB) or id.")] string? project = null,
        [Description("Statuses to include: todo, doing, review, done.")] string[]? status = null,
        [Description("Exact assignee name.")] string? assignee = null,
        [Description("A label the task must have.")] string? label = null,
        [Description("Priorities to include: low, medium, high, critical.")] string[]? priority = null,
        [Description("Only tasks that are ready: todo, not archived, every blocker done.")] bool? ready = null,
        [Description("Words to search for in title and description.")] string? query = null,
        [Description("Parent task ref: only its subtasks.")] string? parent = null,
        [Description("Include archived tasks.")] bool? includeArchived = null,
        [Description("Page size, 1 to 200 (default 50).")] int? limit = null,
        [Description("nextCursor from the previous call, to get the next page.")] string? cursor = null,
        CancellationToken ct = default)
    {
        var q = new ApiQuery()
            .With("project", project)
            .With("status", CheckAll(status, Statuses, "status"))
            .With("priority", CheckAll(priority, Priorities, "priority"))
            .With("assignee", assignee)
            .With("label", label)
            .With("ready", ready)
            .With("q", query)
            .With("parent", parent)
            .With("includeArchived", includeArchived)
            .With("limit", limit)
            .With("cursor", cursor);
        var page = await Call(() => api.FindTasksAsync(q, ct));
        return new TaskList([.. page.Items.Select(TaskSummary.From)], page.NextCursor);
    }

    [McpServerTool(Name = "manage_task", Title = "Create, update, move, archive or restore a task", Destructive = false),
     Description("action=create: needs project and title. action=update: changes only the fields you pass " +
                 "(an empty string clears assignee, dueDate or parent). action=move: status and/or before/after " +
                 "(a neighbour's ref in that column). action=archive / restore. " +
                 "Pass expectedVersion (from find_tasks or the last result) so you never overwrite someone else's change; " +
                 "on a version conflict, re-read the task and try again. Returns the whole task.")]
    public async Task<TaskDto> ManageTask(
        [Description("create, update, move, archive or restore.")] string action,
        [Description("The task (ref such as WEB-42, or id). Required except for create.")] string? task = null,
        [Description("Project key or id (create only).")] string? project = null,
        [Description("Title, 1 to 200 characters.")] string? title = null,
        [Description("Markdown description.")] string? description = null,
        [Description("todo, doing, review or done.")] string? status = null,
        [Description("low, medium, high or critical.")] string? priority = null,
        [Description("Person or agent name; empty string to unassign.")] string? assignee = null,
        [Description("The full set of labels (replaces the current ones).")] string[]? labels = null,
        [Description("Due date, yyyy-MM-dd; empty string to clear.")] string? dueDate = null,
        [Description("Parent task ref for a subtask; empty string to make it top-level.")] string? parent = null,
        [Description("move: place the task just before this task (ref) of the target column.")] string? before = null,
        [Description("move: place the task just after this task (ref) of the target column.")] string? after = null,
        [Description("The version you last saw; the change is refused if the task has changed since.")] int? expectedVersion = null,
        [Description("A unique key for this create, so that a retried call never makes a second task.")] string? clientKey = null,
        CancellationToken ct = default)
    {
        switch (action?.Trim().ToLowerInvariant())
        {
            case "create":
                if (string.IsNullOrWhiteSpace(project) || string.IsNullOrWhiteSpace(title))
                {
                    throw new McpException("create needs project (key or id) and title.");
                }
                var body = Fields(title, description, status, priority, assignee, labels, dueDate, parent, clearWithEmpty: false);
                body["project"] = project;
                // Our resilience handler may retry the POST; one key per call makes a retry find the first result.
                return await Call(() => api.CreateTaskAsync(body, clientKey ?? Guid.NewGuid().ToString("N"), ct));

            case "update":
                var changes = Fields(title, description, status, priority, assignee, labels, dueDate, parent, clearWithEmpty: true);
                if (changes.Count == 0)
                {
                    throw new McpException("update needs at least one field to change (title, description, status, priority, assignee, labels, dueDate or parent).");
                }
                return await Call(() => api.UpdateTaskAsync(RequireTask(task, action), changes, expectedVersion, ct));

            case "move":
                var move = new JsonObject();
                if (status is not null)
                {
                    move["status"] = Check(status, Statuses, "status");
                }
                if (before is not null)
                {
                    move["before"] = before;
                }
                if (after is not null)
                {
                    move["after"] = after;
                }
                return await Call(() => api.MoveTaskAsync(RequireTask(task, action), move, expectedVersion, ct));

            case "archive":
            case "restore":
                return await Call(() => api.ArchiveTaskAsync(RequireTask(task, action), action.Trim().ToLowerInvariant() == "archive", expectedVersion, ct));

            default:
                throw new McpException($"action '{action}' is not one of create, update, move, archive, restore.");
        }
    }

    [McpServerTool(Name = "get_task", Title = "Get a task in full", ReadOnly = true, Idempotent = true),
     Description("Everything about one task: description, status, version, subtasks, blockers, the latest comments " +
                 "(work log) and the latest history. Use it before working on a task.")]
    public async Task<TaskDetail> GetTask(
        [Description("The task: its ref (e.g. WEB-42) or id.")] string task,
        CancellationToken ct = default)
    {
        var reference = RequireTask(task, "get_task");
        var full = await Call(() => api.GetTaskAsync(reference, ct));
        var subtasks = Call(() => api.FindTasksAsync(new ApiQuery().With("parent", full.Ref).With("limit", 200), ct));
        var blockers = Call(() => api.ListBlockersAsync(full.Ref, ct));
        var comments = Call(() => LatestAsync((cursor, limit) => api.ListCommentsAsync(full.Ref, cursor, limit, ct)));
        var history = Call(() => LatestAsync((cursor, limit) => api.TaskHistoryAsync(full.Ref, cursor, limit, ct)));
        return new TaskDetail(full, [.. (await subtasks).Items.Select(TaskSummary.From)], [.. (await blockers).Select(TaskSummary.From)],
            await comments, [.. (await history).Select(HistoryEntry.From)]);
    }

    [McpServerTool(Name = "claim_next_task", Title = "Claim the next ready task", Destructive = false),
     Description("Atomically picks the best ready task (highest priority, then board order; nothing blocking it), " +
                 "assigns it to you and moves it to doing. Safe when many agents claim at once: each gets a different task. " +
                 "Returns the task, or says that nothing is ready.")]
    public async Task<ClaimResult> ClaimNextTask(
        [Description("Only from this project (key or id).")] string? project = null,
        [Description("Only tasks with at least one of these labels.")] string[]? labels = null,
        [Description("Only these priorities: low, medium, high, critical.")] string[]? priority = null,
        [Description("Assign to this name instead of your token's name.")] string? assignee = null,
        CancellationToken ct = default)
    {
        var body = new JsonObject();
        if (!string.IsNullOrWhiteSpace(project))
        {
            body["project"] = project;
        }
        if (labels is { Length: > 0 })
        {
            body["labels"] = new JsonArray([.. labels.Select(l => (JsonNode?)l)]);
        }
        if (priority is { Length: > 0 })
        {
            body["priority"] = new JsonArray([.. CheckAll(priority, Priorities, "priority").Select(p => (JsonNode?)p)]);
        }
        if (!string.IsNullOrWhiteSpace(assignee))
        {
            body["assignee"] = assignee;
        }
        var task = await Call(() => api.ClaimTaskAsync(body, ct));
        return task is null
            ? new ClaimResult(null, "No task is ready: every matching task is taken, blocked or done. Try other filters or come back later.")
            : new ClaimResult(task, $"Claimed {task.Ref}; it is now in doing and assigned to {task.Assignee}.");
    }

    [McpServerTool(Name = "add_comment", Title = "Add a comment to a task's work log", Destructive = false),
     Description("Appends a comment (markdown) to a task: log progress, decisions and results here; people reply here too.")]
    public Task<CommentDto> AddComment(
        [Description("The task: its ref (e.g. WEB-42) or id.")] string task,
        [Description("The comment, in markdown.")] string body,
        [Description("A unique key for this comment, so that a retried call never posts it twice.")] string? clientKey = null,
        CancellationToken ct = default) =>
        string.IsNullOrWhiteSpace(body)
            ? throw new McpException("body must not be empty.")
            : Call(() => api.AddCommentAsync(RequireTask(task, "add_comment"), body, clientKey ?? Guid.NewGuid().ToString("N"), ct));

    [McpServerTool(Name = "manage_dependency", Title = "Add or remove a blocked-by dependency", Destructive = false, Idempotent = true),
     Description("action=add: the task becomes blocked by blocker (any project); refused if that would make a cycle. " +
                 "action=remove: the task no longer waits for blocker. A blocked task cannot move past todo until its blockers are done.")]
    public Task<TaskDto> ManageDependency(
        [Description("add or remove.")] string action,
        [Description("The task that waits (ref or id).")] string task,
        [Description("The task it waits for (ref or id).")] string blocker,
        [Description("The waiting task's version you last saw (optional).")] int? expectedVersion = null,
        CancellationToken ct = default) =>
        action?.Trim().ToLowerInvariant() switch
        {
            "add" => Call(() => api.AddBlockerAsync(RequireTask(task, action), RequireTask(blocker, action), expectedVersion, ct)),
            "remove" => Call(() => api.RemoveBlockerAsync(RequireTask(task, action), RequireTask(blocker, action), expectedVersion, ct)),
            _ => throw new McpException($"action '{action}' is not one of add, remove."),
        };

    [McpServerTool(Name = "task_history", Title = "Read a task's history", ReadOnly = true, Idempotent = true),
     Description("Every change to a task, oldest first: who, when, what (field: old -> new). Paged with nextCursor.")]
    public async Task<HistoryPage> TaskHistory(
        [Description("The task: its ref (e.g. WEB-42) or id.")] string task,
        [Description("Page size, 1 to 200 (default 50).")] int? limit = null,
        [Description("nextCursor from the previous call.")] string? cursor = null,
        CancellationToken ct = default)
    {
        var page = await Call(() => api.TaskHistoryAsync(RequireTask(task, "task_history"), cursor, limit ?? 50, ct));
        return new HistoryPage([.. page.Items.Select(HistoryEntry.From)], page.NextCursor);
    }

    /// <summary>The newest entries of a list that the api pages oldest first.</summary>
    private static async Task<T[]> LatestAsync<T>(Func<string?, int, Task<Page<T>>> page, int count = 10)
    {
        var latest = new Queue<T>();
        string? cursor = null;
        do
        {
            var next = await page(cursor, 200);
            foreach (var item in next.Items)
            {
                latest.Enqueue(item);
                if (latest.Count > count)
                {
                    latest.Dequeue();
                }
            }
            cursor = next.NextCursor;
        }
        while (cursor is not null);
        return [.. latest];
    }

    private static JsonObject Fields(
        string? title, string? description, string? status, string? priority, string? assignee,
        string[]? labels, string? dueDate, string? parent, bool clearWithEmpty)
    {
        var body = new JsonObject();
        if (title is not null)
        {
            body["title"] = title;
        }
        if (description is not null)
        {
            body["description"] = description;
        }
        if (status is not null)
        {
            body["status"] = Check(status, Statuses, "status");
        }
        if (priority is not null)
        {
            body["priority"] = Check(priority, Priorities, "priority");
        }
        if (labels is not null)
        {
            body["labels"] = new JsonArray([.. labels.Select(l => (JsonNode?)l)]);
        }
        void Clearable(string name, string? value, Func<string, string>? check = null)
        {
            if (value is null)
            {
                return;
            }
            if (value.Trim().Length == 0)
            {
                if (clearWithEmpty)
                {
                    body[name] = null;
                }
                return;
            }
            body[name] = check is null ? value : check(value);
        }
        Clearable("assignee", assignee);
        Clearable("dueDate", dueDate, d => DateOnly.TryParseExact(d.Trim(), "yyyy-MM-dd", out _)
            ? d.Trim()
            : throw new McpException($"dueDate '{d}' is not a date in the form yyyy-MM-dd."));
        Clearable("parent", parent);
        return body;
    }

    internal static string RequireTask(string? task, string action) =>
        string.IsNullOrWhiteSpace(task) ? throw new McpException($"{action} needs task: its ref (e.g. WEB-42) or id.") : task.Trim();

    internal static string Check(string value, string[] allowed, string field)
    {
        var normalized = value.Trim().ToLowerInvariant();
        return allowed.Contains(normalized)
            ? normalized
            : throw new McpException($"{field} '{value}' is not one of {string.Join(", ", allowed)}.");
    }

    private static IEnumerable<string> CheckAll(string[]? values, string[] allowed, string field) =>
        (values ?? []).Select(v => Check(v, allowed, field)).ToArray();

    /// <summary>Turns the api's problems into tool errors the model can read and act on.</summary>
    public static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (ApiProblemException e)
        {
            throw new McpException(Explain(e));
        }
    }

    internal static string Explain(ApiProblemException e)
    {
        var p = e.Problem;
        if (p.CurrentVersion is { } current)
        {
            return $"Version conflict: the task was changed by someone else and is now at version {current}. " +
                   "Read it again (find_tasks or get_task), re-apply your change and pass expectedVersion=" + current + ".";
        }
        var message = p.Detail ?? p.Title ?? e.Status.ToString();
        if (p.Errors is { Count: > 0 } errors)
        {
            message = string.Join(" ", errors.Select(kv => $"{kv.Key}: {string.Join(" ", kv.Value)}"));
        }
        return $"{(int)e.Status} {p.Title}: {message}";
    }
}
