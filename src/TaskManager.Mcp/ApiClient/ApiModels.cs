using System.Text.Json;

namespace TaskManager.Mcp.ApiClient;

// The api's wire contracts, as far as the MCP tools use them. The api owns the data; these are only views of it.

public sealed record TaskDto(
    Guid Id, string Ref, Guid ProjectId, string ProjectKey, int Number, Guid? ParentId, string Title, string Description,
    string Status, string Priority, string? Assignee, string[] Labels, DateOnly? DueDate, string[] BlockedBy, bool Ready,
    SubtaskProgress? Subtasks, DateTimeOffset? ArchivedAt, string? ArchivedBy, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset UpdatedAt, string UpdatedBy, int Version, LeaseDto? Lease = null, ExpiredLeaseDto? ExpiredLease = null,
    HandoffDto? Handoff = null);

/// <summary>The claim a task is under; its id only in answers to the holder's claim and heartbeats.</summary>
public sealed record LeaseDto(Guid? Id, string Holder, DateTimeOffset? ExpiresAt, DateTimeOffset? HeartbeatAt, int? Seconds, bool Expired);

public sealed record ExpiredLeaseDto(string Holder, DateTimeOffset At);

/// <summary>A note left by whoever released the task: what was done, what is left, where.</summary>
public sealed record HandoffDto(Guid Id, string Author, DateTimeOffset CreatedAt, string Summary, string Remaining, string[] Files, string? Branch, string[] Links);

public sealed record SubtaskProgress(int Total, int Done);

public sealed record ProjectDto(
    Guid Id, string Key, string Title, string Description, bool Pinned, DateTimeOffset? ArchivedAt,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt, string UpdatedBy, int Version, bool DoneByPeopleOnly,
    int AgentLeaseSeconds);

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
