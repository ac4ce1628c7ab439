using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Auth;

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
/// <summary>A task with what an agent needs around it: recent comments and history are the latest, oldest first.</summary>
public sealed record TaskDetail(
    TaskDto Task, TaskSummary[] Subtasks, bool MoreSubtasks, TaskSummary[] Blockers, CommentDto[] RecentComments, HistoryEntry[] RecentHistory,
    HandoffDto[] Handoffs);

public sealed record ClaimResult(TaskDto? Task, string Message);

/// <summary>One change in compact form.</summary>
public sealed record HistoryEntry(long Id, DateTimeOffset At, string Actor, string Kind, string? TaskRef, System.Text.Json.JsonElement Data)
{
    public static HistoryEntry From(EventDto e) => new(e.Id, e.At, e.Actor, e.Kind, e.TaskRef, e.Data);
}

public sealed record HistoryPage(HistoryEntry[] Events, string? NextCursor);

[JsonConverter(typeof(WireEnumConverter<ManageTaskAction>))]
public enum ManageTaskAction { Create, Update, Move, Archive, Restore }

[JsonConverter(typeof(WireEnumConverter<ManageDependencyAction>))]
public enum ManageDependencyAction { Add, Remove }

/// <remarks>
/// Structured content (an outputSchema in tools/list, structuredContent in the result) only on the list and log tools
/// (find_tasks, find_projects, task_history, add_comment): their results are what a client pages through or shows as
/// rows, and their schemas are small. The tools returning whole tasks would add 330 to 660 tokens of schema each to
/// every session's tool list (all nine: 2,551 -> 4,805 tokens) for results the model reads as the same JSON text anyway.
/// </remarks>
[McpServerToolType]
public sealed class TaskTools(TaskApiClient api)
{
    private const int Recent = 10;
    private const int MaxSubtasks = 200;

    [McpServerTool(Name = "find_tasks", Title = "Find tasks", UseStructuredContent = true, ReadOnly = true, Idempotent = true),
     Description("Finds tasks by project, status, assignee, label, priority, readiness or text. Returns compact rows " +
                 "(ref such as WEB-42, title, status, priority, assignee, labels, blockers, version) in board order, " +
                 "and nextCursor when there are more.")]
    public async Task<TaskList> FindTasks(
        [Description("Project key (e.g. WEB) or id.")] string? project = null,
        [Description("Statuses to include.")] Status[]? status = null,
        [Description("Exact assignee name.")] string? assignee = null,
        [Description("A label the task must have.")] string? label = null,
        [Description("Priorities to include.")] Priority[]? priority = null,
        [Description("Only tasks that are ready: todo, not archived, every blocker done.")] bool? ready = null,
        [Description("Words to search for in title and description.")] string? query = null,
        [Description("Parent task ref: only its subtasks.")] string? parent = null,
        [Description("Include archived tasks.")] bool? includeArchived = null,
        [Description("Page size, 1 to 200 (default 50).")] int? limit = null,
        [Description("nextCursor from the previous call, to get the next page.")] string? cursor = null,
        CancellationToken ct = default)
    {
        var q = new ApiQuery()
            .With("project", project is null ? null : ToolInput.Project(project, "project", "find_tasks"))
            .With("status", Wire(status))
            .With("priority", Wire(priority))
            .With("assignee", ToolInput.Optional(assignee, "assignee"))
            .With("label", ToolInput.Optional(label, "label"))
            .With("ready", ready)
            .With("q", ToolInput.Optional(query, "query"))
            .With("parent", parent is null ? null : ToolInput.Task(parent, "parent", "find_tasks"))
            .With("includeArchived", includeArchived)
            .With("limit", limit)
            .With("cursor", ToolInput.Optional(cursor, "cursor"));
        var page = await ApiCalls.Run(() => api.FindTasksAsync(q, ct));
        return new TaskList(page.Items, page.NextCursor);
    }

    [McpServerTool(Name = "manage_task", Title = "Create, update, move, archive or restore a task", Destructive = false),
     Authorize(Policy = WritePolicy.Name),
     Description("action=create: needs project and title. action=update: changes only the fields you pass " +
                 "(an empty string clears assignee, dueDate or parent). action=move: status and/or before/after " +
                 "(a neighbour's ref in that column). action=archive / restore. " +
                 "Pass expectedVersion (from find_tasks or the last result) so you never overwrite someone else's change; " +
                 "on a version conflict, re-read the task and try again. Returns the whole task.")]
    public async Task<TaskDto> ManageTask(
        [Description("What to do.")] ManageTaskAction action,
        [Description("The task (ref such as WEB-42, or id). Required except for create.")] string? task = null,
        [Description("Project key or id (create only).")] string? project = null,
        [Description("Title, 1 to 200 characters.")] string? title = null,
        [Description("Markdown description.")] string? description = null,
        [Description("The column.")] Status? status = null,
        [Description("The priority.")] Priority? priority = null,
        [Description("Person or agent name; empty string to unassign.")] string? assignee = null,
        [Description("The full set of labels (replaces the current ones).")] string[]? labels = null,
        [Description("Due date, yyyy-MM-dd; empty string to clear.")] string? dueDate = null,
        [Description("Parent task ref for a subtask; empty string to make it top-level.")] string? parent = null,
        [Description("move: place the task just before this task (ref) of the target column.")] string? before = null,
        [Description("move: place the task just after this task (ref) of the target column.")] string? after = null,
        [Description("The version you last saw; the change is refused if the task has changed since.")] int? expectedVersion = null,
        [Description(ToolInput.LeaseIdDescription)] string? leaseId = null,
        [Description(ToolInput.RequestIdDescription)] string? requestId = null,
        CancellationToken ct = default)
    {
        var verb = action.Wire();
        var edits = action is ManageTaskAction.Create or ManageTaskAction.Update;
        ToolInput.OnlyFor(verb,
            ("task", task, action != ManageTaskAction.Create), ("project", project, action == ManageTaskAction.Create),
            ("title", title, edits), ("description", description, edits), ("status", status, edits || action == ManageTaskAction.Move),
            ("priority", priority, edits), ("assignee", assignee, edits), ("labels", labels, edits), ("dueDate", dueDate, edits),
            ("parent", parent, edits), ("before", before, action == ManageTaskAction.Move), ("after", after, action == ManageTaskAction.Move),
            ("expectedVersion", expectedVersion, action != ManageTaskAction.Create),
            ("leaseId", leaseId, action is ManageTaskAction.Update or ManageTaskAction.Move));
        var id = ToolInput.RequestId(requestId);
        var lease = ToolInput.LeaseId(leaseId);
        switch (action)
        {
            case ManageTaskAction.Create:
                if (string.IsNullOrWhiteSpace(project) || string.IsNullOrWhiteSpace(title))
                {
                    throw new McpException("create needs project (key or id) and title.");
                }
                var body = Fields(title, description, status, priority, assignee, labels, dueDate, parent, clearWithEmpty: false);
                body["project"] = ToolInput.Project(project, "project", verb);
                return await ApiCalls.Write("manage_task", id, () => api.CreateTaskAsync(body, id, ct));

            case ManageTaskAction.Update:
                var changes = Fields(title, description, status, priority, assignee, labels, dueDate, parent, clearWithEmpty: true);
                if (changes.Count == 0)
                {
                    throw new McpException("update needs at least one field to change (title, description, status, priority, assignee, labels, dueDate or parent).");
                }
                return await ApiCalls.Write("manage_task", id, () => api.UpdateTaskAsync(ToolInput.Task(task, "task", verb), changes, expectedVersion, lease, id, ct));

            case ManageTaskAction.Move:
                var move = new JsonObject();
                if (status is { } column)
                {
                    move["status"] = column.Wire();
                }
                if (before is not null)
                {
                    move["before"] = ToolInput.Task(before, "before", verb);
                }
                if (after is not null)
                {
                    move["after"] = ToolInput.Task(after, "after", verb);
                }
                return await ApiCalls.Write("manage_task", id, () => api.MoveTaskAsync(ToolInput.Task(task, "task", verb), move, expectedVersion, lease, id, ct));

            case ManageTaskAction.Archive:
            case ManageTaskAction.Restore:
                return await ApiCalls.Write("manage_task", id, () =>
                    api.ArchiveTaskAsync(ToolInput.Task(task, "task", verb), action == ManageTaskAction.Archive, expectedVersion, id, ct));

            default:
                throw new System.Diagnostics.UnreachableException($"manage_task action {action}");
        }
    }

    [McpServerTool(Name = "get_task", Title = "Get a task in full", ReadOnly = true, Idempotent = true),
     Description("Everything about one task: description, status, version, lease, subtasks, blockers, the latest comments " +
                 "(work log), history and handoff notes. Use it before working on a task.")]
    public async Task<TaskDetail> GetTask(
        [Description("The task: its ref (e.g. WEB-42) or id.")] string task,
        CancellationToken ct = default)
    {
        var reference = ToolInput.Task(task, "task", "get_task");
        var full = await ApiCalls.Run(() => api.GetTaskAsync(reference, ct));
        var subtasks = ApiCalls.Run(() => api.FindTasksAsync(new ApiQuery().With("parent", full.Ref).With("limit", MaxSubtasks), ct));
        var blockers = ApiCalls.Run(() => api.ListBlockersAsync(full.Ref, ct));
        var comments = ApiCalls.Run(() => api.ListCommentsAsync(full.Ref, null, Recent, newestFirst: true, ct));
        var history = ApiCalls.Run(() => api.TaskHistoryAsync(full.Ref, null, Recent, newestFirst: true, ct));
        var handoffs = ApiCalls.Run(() => api.ListHandoffsAsync(full.Ref, ct));
        var subtaskPage = await subtasks;
        return new TaskDetail(full, subtaskPage.Items, subtaskPage.NextCursor is not null,
            [.. (await blockers).Select(TaskSummary.From)],
            [.. (await comments).Items.Reverse()], [.. (await history).Items.Reverse().Select(HistoryEntry.From)], await handoffs);
    }

    [McpServerTool(Name = "claim_next_task", Title = "Claim the next ready task", Destructive = false),
     Authorize(Policy = WritePolicy.Name),
     Description("Atomically picks the best ready task (highest priority, then board order; nothing blocking it), " +
                 "assigns it to you and moves it to doing under a lease (writes and heartbeat renew it). Safe when many agents " +
                 "claim at once. Returns the task with lease.id and the last handoff note.")]
    public async Task<ClaimResult> ClaimNextTask(
        [Description("Only from this project (key or id).")] string? project = null,
        [Description("Only tasks with at least one of these labels.")] string[]? labels = null,
        [Description("Only these priorities.")] Priority[]? priority = null,
        [Description("Assign to this name instead of your token's name.")] string? assignee = null,
        [Description("Lease length in seconds (default: the project's).")] int? leaseSeconds = null,
        [Description(ToolInput.RequestIdDescription)] string? requestId = null,
        CancellationToken ct = default)
    {
        var id = ToolInput.RequestId(requestId);
        var body = new JsonObject();
        if (leaseSeconds is { } seconds)
        {
            body["leaseSeconds"] = seconds;
        }
        if (project is not null)
        {
            body["project"] = ToolInput.Project(project, "project", "claim_next_task");
        }
        if (labels is { Length: > 0 })
        {
            body["labels"] = new JsonArray([.. labels.Select(l => (JsonNode?)l)]);
        }
        if (priority is { Length: > 0 })
        {
            body["priority"] = new JsonArray([.. Wire(priority).Select(p => (JsonNode?)p)]);
        }
        if (ToolInput.Optional(assignee, "assignee") is { } claimant)
        {
            body["assignee"] = claimant;
        }
        var task = await ApiCalls.Write("claim_next_task", id, () => api.ClaimTaskAsync(body, id, ct));
        return task is null
            ? new ClaimResult(null, "No task is ready: every matching task is taken, blocked or done. Try other filters or come back later.")
            : new ClaimResult(task, Claimed(task));
    }

    /// <summary>What the claimer must know: the lease to keep and pass, and what the previous holder left.</summary>
    private static string Claimed(TaskDto task)
    {
        var lease = task.Lease is { ExpiresAt: { } expires } held
            ? $" Your lease {held.Id} runs until {expires:u}: pass it as leaseId to your writes, and call heartbeat (or write) before then, or the task goes back to todo for someone else."
            : " Your lease has no expiry; release_task hands the task back.";
        var handoff = task.Handoff is { } note
            ? $" {note.Author} left a handoff note: {note.Summary}{(note.Remaining.Length > 0 ? $" Left to do: {note.Remaining}" : "")}"
            : "";
        return $"Claimed {task.Ref}; it is now in doing and assigned to {task.Assignee}.{lease}{handoff}";
    }

    [McpServerTool(Name = "add_comment", Title = "Add a comment to a task's work log", UseStructuredContent = true, Destructive = false),
     Authorize(Policy = WritePolicy.Name),
     Description("Appends a comment (markdown) to a task: log progress, decisions and results here; people reply here too.")]
    public Task<CommentDto> AddComment(
        [Description("The task: its ref (e.g. WEB-42) or id.")] string task,
        [Description("The comment, in markdown.")] string body,
        [Description(ToolInput.LeaseIdDescription)] string? leaseId = null,
        [Description(ToolInput.RequestIdDescription)] string? requestId = null,
        CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            throw new McpException("body must not be empty.");
        }
        var reference = ToolInput.Task(task, "task", "add_comment");
        var id = ToolInput.RequestId(requestId);
        var lease = ToolInput.LeaseId(leaseId);
        return ApiCalls.Write("add_comment", id, () => api.AddCommentAsync(reference, body, lease, id, ct));
    }

    [McpServerTool(Name = "manage_dependency", Title = "Add or remove a blocked-by dependency", Destructive = false, Idempotent = true),
     Authorize(Policy = WritePolicy.Name),
     Description("action=add: the task becomes blocked by blocker (any project); refused if that would make a cycle. " +
                 "action=remove: the task no longer waits for blocker. A blocked task cannot move past todo until its blockers are done.")]
    public Task<TaskDto> ManageDependency(
        [Description("Add or remove the dependency.")] ManageDependencyAction action,
        [Description("The task that waits (ref or id).")] string task,
        [Description("The task it waits for (ref or id).")] string blocker,
        [Description("The waiting task's version you last saw (optional).")] int? expectedVersion = null,
        [Description(ToolInput.RequestIdDescription)] string? requestId = null,
        CancellationToken ct = default)
    {
        var id = ToolInput.RequestId(requestId);
        var waiting = ToolInput.Task(task, "task", action.Wire());
        var blocking = ToolInput.Task(blocker, "blocker", action.Wire());
        return ApiCalls.Write("manage_dependency", id, () => action == ManageDependencyAction.Add
            ? api.AddBlockerAsync(waiting, blocking, expectedVersion, id, ct)
            : api.RemoveBlockerAsync(waiting, blocking, expectedVersion, id, ct));
    }

    [McpServerTool(Name = "task_history", Title = "Read a task's history", UseStructuredContent = true, ReadOnly = true, Idempotent = true),
     Description("Every change to a task, oldest first: who, when, what (field: old -> new). Paged with nextCursor.")]
    public async Task<HistoryPage> TaskHistory(
        [Description("The task: its ref (e.g. WEB-42) or id.")] string task,
        [Description("Page size, 1 to 200 (default 50).")] int? limit = null,
        [Description("nextCursor from the previous call.")] string? cursor = null,
        CancellationToken ct = default)
    {
        var page = await ApiCalls.Run(() => api.TaskHistoryAsync(ToolInput.Task(task, "task", "task_history"), cursor, limit ?? 50, newestFirst: false, ct));
        return new HistoryPage([.. page.Items.Select(HistoryEntry.From)], page.NextCursor);
    }

    private static JsonObject Fields(
        string? title, string? description, Status? status, Priority? priority, string? assignee,
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
        if (status is { } column)
        {
            body["status"] = column.Wire();
        }
        if (priority is { } rank)
        {
            body["priority"] = rank.Wire();
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

    private static IEnumerable<string> Wire<T>(T[]? values) where T : struct, Enum => (values ?? []).Select(v => v.Wire());
}
