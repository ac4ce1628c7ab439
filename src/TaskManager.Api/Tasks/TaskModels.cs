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
    DateTimeOffset UpdatedAt, string UpdatedBy, int Version, string Position, string[] OpenBlockers)
{
    public string Ref => $"{ProjectKey}-{Number}";

    /// <summary>Ready to be worked on: to do, not archived, nothing blocking it.</summary>
    public bool Ready => Status == TaskState.Todo && ArchivedAt is null && OpenBlockers.Length == 0;
}

/// <summary>A task on the wire.</summary>
public sealed record TaskDto(
    Guid Id, string Ref, Guid ProjectId, string ProjectKey, int Number, Guid? ParentId, string Title, string Description,
    TaskState Status, TaskPriority Priority, string? Assignee, string[] Labels, DateOnly? DueDate,
    string[] BlockedBy, bool Ready,
    DateTimeOffset? ArchivedAt, string? ArchivedBy, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset UpdatedAt, string UpdatedBy, int Version)
{
    public static TaskDto From(TaskRow row) => new(
        row.Id, row.Ref, row.ProjectId, row.ProjectKey, row.Number, row.ParentId, row.Title, row.Description,
        row.Status, row.Priority, row.Assignee, row.Labels, row.DueDate, row.OpenBlockers, row.Ready,
        row.ArchivedAt, row.ArchivedBy, row.CreatedAt, row.CreatedBy, row.UpdatedAt, row.UpdatedBy, row.Version);
}

public sealed record CreateTaskRequest(
    string? Project, string? Title, string? Description, TaskState? Status, TaskPriority? Priority,
    string? Assignee, string[]? Labels, DateOnly? DueDate, string? Parent);

/// <summary>A partial update: only the fields present change; <c>null</c> clears an optional field.</summary>
public sealed record UpdateTaskRequest(
    Optional<string?> Title, Optional<string?> Description, Optional<TaskState?> Status, Optional<TaskPriority?> Priority,
    Optional<string?> Assignee, Optional<string[]?> Labels, Optional<DateOnly?> DueDate, Optional<string?> Parent);

/// <summary>The validated new values of a task; unchanged fields carry their current values.</summary>
public sealed record TaskChanges(
    string Title, string Description, TaskState Status, TaskPriority Priority, string? Assignee,
    string[] Labels, DateOnly? DueDate, Guid? ParentId);
