using System.Text.Json;

namespace TaskManager.Mcp.ApiClient;

// The api's wire contracts, as far as the MCP tools use them. The api owns the data; these are only views of it.

public sealed record TaskDto(
    Guid Id, string Ref, Guid ProjectId, string ProjectKey, int Number, Guid? ParentId, string Title, string Description,
    string Status, string Priority, string? Assignee, string[] Labels, DateOnly? DueDate, string[] BlockedBy, bool Ready,
    SubtaskProgress? Subtasks, DateTimeOffset? ArchivedAt, string? ArchivedBy, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset UpdatedAt, string UpdatedBy, int Version);

public sealed record SubtaskProgress(int Total, int Done);

public sealed record ProjectDto(
    Guid Id, string Key, string Title, string Description, bool Pinned, DateTimeOffset? ArchivedAt,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt, string UpdatedBy, int Version, bool DoneByPeopleOnly);

public sealed record CommentDto(Guid Id, string TaskRef, string Author, string Body, DateTimeOffset CreatedAt);

public sealed record EventDto(long Id, DateTimeOffset At, string Actor, string Kind, string ProjectKey, string? TaskRef, JsonElement Data);

/// <summary>What a plan created: each task's name, ref and parent's ref, in plan order (the api also sends ids).</summary>
public sealed record PlanDto(string Project, PlannedTask[] Tasks);

public sealed record PlannedTask(string Name, string Ref, string? Parent);

public sealed record Page<T>(T[] Items, string? NextCursor);

public sealed record WhoAmI(string Name, string[] Scopes);

/// <summary>An RFC 9457 problem as the api sends it.</summary>
public sealed record ApiProblem(
    string? Title, string? Detail, int? Status, Dictionary<string, string[]>? Errors, int? CurrentVersion, string[]? BlockedBy);
