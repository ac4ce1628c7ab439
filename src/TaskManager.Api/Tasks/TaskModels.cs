using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using TaskManager.Api.Http;

namespace TaskManager.Api.Tasks;

[JsonConverter(typeof(StrictEnumConverter<TaskState>))]
public enum TaskState { Todo, Doing, Review, Done }

[JsonConverter(typeof(StrictEnumConverter<TaskPriority>))]
public enum TaskPriority { Low, Medium, High, Critical }

/// <summary>A task as stored, with its project key and its open blockers' references.</summary>
public sealed record TaskRow(
    Guid Id, Guid ProjectId, string ProjectKey, int Number, Guid? ParentId, string Title, string Description,
    TaskState Status, TaskPriority Priority, string? Assignee, string[] Labels, DateOnly? DueDate,
    DateTimeOffset? ArchivedAt, string? ArchivedBy, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset UpdatedAt, string UpdatedBy, int Version, string Position, string[] OpenBlockers,
    int SubtaskCount, int SubtasksDone, bool ProjectArchived, TaskLease? Lease, ExpiredLease? ExpiredLease)
{
    public string Ref => $"{ProjectKey}-{Number}";

    /// <summary>Ready to be worked on: to do, not archived (nor its project), nothing blocking it.</summary>
    public bool Ready => Status == TaskState.Todo && ArchivedAt is null && !ProjectArchived && OpenBlockers.Length == 0;
}

/// <summary>
/// The claim a task in doing is under: <see cref="Holder"/> (the claimer) may renew it by writing or by a heartbeat; it
/// runs out at <see cref="ExpiresAt"/> (never when null), and then the task goes back to todo.
/// </summary>
public sealed record TaskLease(Guid Id, string Holder, int? Seconds, DateTimeOffset? ExpiresAt, DateTimeOffset? HeartbeatAt, bool Expired);

/// <summary>Who last lost the task because their lease ran out, and when; kept until the task is claimed again.</summary>
public sealed record ExpiredLease(string Holder, DateTimeOffset At);

/// <summary>
/// A task on the wire. <see cref="Position"/> orders a status column (a decimal number as text; compare numerically),
/// so a client can place a task that moved without reloading the column. <see cref="Lease"/>: the claim it is under
/// (its id only in the answers to its holder's claim and heartbeats); <see cref="ExpiredLease"/>: who lost it to an
/// expired lease. <see cref="Handoff"/>, in claim answers only: the latest handoff note left on the task.
/// </summary>
public sealed record TaskDto(
    Guid Id, string Ref, Guid ProjectId, string ProjectKey, int Number, Guid? ParentId, string Title, string Description,
    TaskState Status, TaskPriority Priority, string? Assignee, string[] Labels, DateOnly? DueDate, string Position,
    string[] BlockedBy, bool Ready, SubtaskProgress Subtasks,
    DateTimeOffset? ArchivedAt, string? ArchivedBy, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset UpdatedAt, string UpdatedBy, int Version, LeaseDto? Lease, ExpiredLease? ExpiredLease,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] HandoffDto? Handoff = null)
{
    public static TaskDto From(TaskRow row) => From(row, forHolder: false);

    /// <summary><paramref name="forHolder"/>: the answer goes to the lease's holder, who may see its id.</summary>
    public static TaskDto From(TaskRow row, bool forHolder, HandoffDto? handoff = null) => new(
        row.Id, row.Ref, row.ProjectId, row.ProjectKey, row.Number, row.ParentId, row.Title, row.Description,
        row.Status, row.Priority, row.Assignee, row.Labels, row.DueDate, row.Position, row.OpenBlockers, row.Ready,
        new SubtaskProgress(row.SubtaskCount, row.SubtasksDone),
        row.ArchivedAt, row.ArchivedBy, row.CreatedAt, row.CreatedBy, row.UpdatedAt, row.UpdatedBy, row.Version,
        row.Lease is { } lease ? LeaseDto.From(lease, forHolder) : null, row.ExpiredLease, handoff);
}

/// <summary>
/// A task's lease on the wire. <see cref="Id"/>, which the holder's writes may carry (Lease-Id), only goes to the holder:
/// an agent that lost its lease cannot read its successor's.
/// </summary>
public sealed record LeaseDto(Guid? Id, string Holder, DateTimeOffset? ExpiresAt, DateTimeOffset? HeartbeatAt, int? Seconds, bool Expired)
{
    public static LeaseDto From(TaskLease lease, bool forHolder) =>
        new(forHolder ? lease.Id : null, lease.Holder, lease.ExpiresAt, lease.HeartbeatAt, lease.Seconds, lease.Expired);
}

/// <summary>
/// A handoff note: what its author did, what is left, the files or branch touched and links, left when releasing the
/// task for someone else to continue.
/// </summary>
public sealed record HandoffDto(Guid Id, string Author, DateTimeOffset CreatedAt, string Summary, string Remaining, string[] Files, string? Branch, string[] Links);

/// <summary>
/// A task in brief, for lists that only choose (<c>GET /api/tasks?view=summary</c>, the MCP server's find_tasks): no
/// description, dates, audit fields or ids, a tenth of the full row's size.
/// </summary>
public sealed record TaskSummaryDto(
    string Ref, string Title, TaskState Status, TaskPriority Priority, string? Assignee, string[] Labels, string[] BlockedBy,
    bool Ready, int Version, string? HeldBy)
{
    public static TaskSummaryDto From(TaskRow row) =>
        new(row.Ref, row.Title, row.Status, row.Priority, row.Assignee, row.Labels, row.OpenBlockers, row.Ready, row.Version, row.Lease?.Holder);
}

/// <summary>How many of a task's (unarchived) subtasks exist and how many are done.</summary>
public sealed record SubtaskProgress(int Total, int Done);

public sealed record CreateTaskRequest(
    [property: Required] string? Project, [property: Required] string? Title, string? Description, TaskState? Status, TaskPriority? Priority,
    string? Assignee, string[]? Labels, DateOnly? DueDate, string? Parent);

/// <summary>A partial update: only the fields present change; <c>null</c> clears an optional field.</summary>
public sealed record UpdateTaskRequest(
    Optional<string?> Title, Optional<string?> Description, Optional<TaskState?> Status, Optional<TaskPriority?> Priority,
    Optional<string?> Assignee, Optional<string[]?> Labels, Optional<DateOnly?> DueDate, Optional<string?> Parent);

/// <summary>The validated new values of a task; unchanged fields carry their current values.</summary>
public sealed record TaskChanges(
    string Title, string Description, TaskState Status, TaskPriority Priority, string? Assignee,
    string[] Labels, DateOnly? DueDate, Guid? ParentId);

/// <summary>
/// The query of the task list (<c>GET /api/tasks</c>); every parameter may be left out. [FromQuery] names each as the
/// query spells it, for binding, for the OpenAPI document and for the names the list accepts (<see cref="QueryValidation"/>).
/// </summary>
/// <remarks>
/// Shaped for the compile-time request delegate generator (Native AOT), so that the OpenAPI document describes the
/// query as it binds (dotnet/aspnetcore#65344): [FromQuery], or it describes the arrays as a GET body; positional with
/// defaults, or it describes them as required; without nullable annotations, as for a positional record it emits
/// <c>typeof(string?)</c>, which does not compile. Binding is the same either way.
/// </remarks>
#nullable disable
public sealed record ListTasksQuery(
    [FromQuery(Name = "project")] string Project = null,
    [FromQuery(Name = "status")] string[] Status = null,
    [FromQuery(Name = "assignee")] string Assignee = null,
    [FromQuery(Name = "label")] string Label = null,
    [FromQuery(Name = "priority")] string[] Priority = null,
    [FromQuery(Name = "parent")] string Parent = null,
    [FromQuery(Name = "ready")] bool? Ready = null,
    [FromQuery(Name = "q")] string Q = null,
    [FromQuery(Name = "includeArchived")] bool? IncludeArchived = null,
    [FromQuery(Name = "limit")] int? Limit = null,
    [FromQuery(Name = "cursor")] string Cursor = null,
    [FromQuery(Name = "view")] string View = null,
    [FromQuery(Name = "heldBy")] string HeldBy = null,
    [FromQuery(Name = "leaseExpired")] bool? LeaseExpired = null);
#nullable restore
