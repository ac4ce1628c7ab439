using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
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
    int SubtaskCount, int SubtasksDone, bool ProjectArchived)
{
    public string Ref => $"{ProjectKey}-{Number}";

    /// <summary>Ready to be worked on: to do, not archived (nor its project), nothing blocking it.</summary>
    public bool Ready => Status == TaskState.Todo && ArchivedAt is null && !ProjectArchived && OpenBlockers.Length == 0;
}

/// <summary>
/// A task on the wire. <see cref="Position"/> orders a status column (a decimal number as text; compare numerically),
/// so a client can place a task that moved without reloading the column.
/// </summary>
public sealed record TaskDto(
    Guid Id, string Ref, Guid ProjectId, string ProjectKey, int Number, Guid? ParentId, string Title, string Description,
    TaskState Status, TaskPriority Priority, string? Assignee, string[] Labels, DateOnly? DueDate, string Position,
    string[] BlockedBy, bool Ready, SubtaskProgress Subtasks,
    DateTimeOffset? ArchivedAt, string? ArchivedBy, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset UpdatedAt, string UpdatedBy, int Version)
{
    public static TaskDto From(TaskRow row) => new(
        row.Id, row.Ref, row.ProjectId, row.ProjectKey, row.Number, row.ParentId, row.Title, row.Description,
        row.Status, row.Priority, row.Assignee, row.Labels, row.DueDate, row.Position, row.OpenBlockers, row.Ready,
        new SubtaskProgress(row.SubtaskCount, row.SubtasksDone),
        row.ArchivedAt, row.ArchivedBy, row.CreatedAt, row.CreatedBy, row.UpdatedAt, row.UpdatedBy, row.Version);
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
/// Moves a task to <see cref="Status"/> (default: its current column), just before or just after a neighbour in that
/// column, or to the end of it when no neighbour is given. Only the moved task's position changes.
/// </summary>
public sealed record MoveTaskRequest(TaskState? Status, string? Before, string? After);

/// <summary>Which ready task to claim. Every filter is optional; the best match is the highest priority, then board order.</summary>
public sealed record ClaimTaskRequest(string? Project, string[]? Labels, TaskPriority[]? Priority, string? Assignee);

/// <summary>Filters of the claim, resolved.</summary>
public sealed record ClaimFilter(Guid? ProjectId, string[]? Labels, string[]? Priorities);

public sealed record AddBlockerRequest([property: Required] string? Blocker);
