using System.ComponentModel;
using ModelContextProtocol.Server;

namespace TaskManager.Mcp.Prompts;

[McpServerPromptType]
public sealed class WorkflowPrompts
{
    [McpServerPrompt(Name = "plan_feature", Title = "Plan a feature into tasks"),
     Description("Breaks a feature down into tasks on the board, with dependencies between them.")]
    public static string PlanFeature(
        [Description("Project key, e.g. WEB.")] string project,
        [Description("The feature to plan, in a few sentences.")] string feature) =>
        $"""
        Plan this feature as tasks in project {project}:

        {feature}

        1. Call find_tasks with project={project} and a few words of the feature as query, so you do not duplicate existing tasks.
        2. Call create_plan once with project={project}: one task per independently finishable step (a short name, a clear
           title, a markdown description with acceptance criteria, a priority, labels), subtasks for steps that belong to
           a larger task, and blockedBy naming the steps (or existing refs) that must be finished first.
        3. If create_plan reports a problem, nothing was created: fix the task its path names and call it again.
        4. Finish with a short summary: the refs you created, in the order they can be done.
        """;

    [McpServerPrompt(Name = "work_next_task", Title = "Work the next ready task"),
     Description("Claims the best ready task and works it through to review, logging progress.")]
    public static string WorkNextTask(
        [Description("Only from this project (key), or leave empty for any project.")] string? project = null) =>
        $"""
        Work the next ready task{(string.IsNullOrWhiteSpace(project) ? "" : $" in project {project}")}:

        1. Call claim_next_task{(string.IsNullOrWhiteSpace(project) ? "" : $" with project={project}")}. If nothing is ready, say so and stop.
        2. Call get_task on the claimed ref and read its description, blockers, comments and history.
        3. Do the work. Log progress and decisions with add_comment as you go.
        4. When done, call manage_task action=update with status=review (or done) and the expectedVersion you last saw.
           On a version conflict, call get_task again and retry.
        """;
}
