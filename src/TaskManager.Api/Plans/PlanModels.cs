using System.ComponentModel.DataAnnotations;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Plans;

/// <summary>A tree of new tasks for one project, created together or not at all.</summary>
public sealed record CreatePlanRequest([property: Required] string? Project, [property: Required] PlanTaskRequest[]? Tasks);

/// <summary>
/// One task of a plan. <see cref="Name"/> is the plan's own name for it, which other tasks of the plan use in
/// <see cref="BlockedBy"/> before it has a ref; a blocked-by entry may also be an existing task's ref or id.
/// </summary>
public sealed record PlanTaskRequest(
    [property: Required] string? Name, [property: Required] string? Title, string? Description, TaskPriority? Priority,
    string[]? Labels, string? Assignee, DateOnly? DueDate, string[]? BlockedBy, PlanTaskRequest[]? Subtasks);

/// <summary>What a plan created: each task's name with its ref, id and parent's ref, in plan order (parents first).</summary>
public sealed record PlanDto(string Project, PlannedTaskDto[] Tasks);

public sealed record PlannedTaskDto(string Name, string Ref, Guid Id, string? Parent);

/// <summary>
/// A validated task of a plan, in plan order: its id is chosen before it is written, so that subtasks and edges can
/// name it; <see cref="BlockedBy"/> holds ids of plan tasks and of existing tasks alike.
/// </summary>
public sealed record PlannedTask(Guid Id, string Name, TaskChanges Values, Guid[] BlockedBy);
