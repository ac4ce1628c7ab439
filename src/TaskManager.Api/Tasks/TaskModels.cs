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

/// <summary>
/// A task in brief, for lists that only choose (<c>GET /api/tasks?view=summary</c>, the MCP server's find_tasks): no
/// description, dates, audit fields or ids, a tenth of the full row's size.
/// </summary>
public sealed record TaskSummaryDto(
    string Ref, string Title, TaskState Status, TaskPriority Priority, string? Assignee, string[] Labels, string[] BlockedBy,
    bool Ready, int Version)
{
    public static TaskSummaryDto From(TaskRow row) =>
        new(row.Ref, row.Title, row.Status, row.Priority, row.Assignee, row.Labels, row.OpenBlockers, row.Ready, row.Version);
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
    [FromQuery(Name = "view")] string View = null);
#nullable restore
