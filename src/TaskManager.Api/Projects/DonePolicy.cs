using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Projects;

/// <summary>
/// A project's done policy (<c>doneByPeopleOnly</c>): agents may take work as far as review; only a person (a token of
/// kind person) moves it to done, and only a person changes the policy.
/// </summary>
public static class DonePolicy
{
    public const string Title = "Done by people only";

    /// <summary>A 403 when an agent's write would put a task of <paramref name="project"/> into done against its policy.</summary>
    public static ProblemHttpResult? Refused(HttpContext http, TaskState? target, (string Key, bool DoneByPeopleOnly)? project) =>
        MayApply(http, target) && project is { DoneByPeopleOnly: true }
            ? TypedResults.Problem(
                $"Project {project.Value.Key} lets only people move tasks to done (its done policy, doneByPeopleOnly). " +
                "Move the task to review; a person finishes it.",
                statusCode: StatusCodes.Status403Forbidden, title: Title)
            : null;

    /// <summary>
    /// <see cref="Refused"/> for a write to an existing task: its project's policy is read only when the write could be
    /// refused at all (an agent moving it into done).
    /// </summary>
    public static async Task<ProblemHttpResult?> RefusedForTaskAsync(
        HttpContext http, TaskState? target, TaskReference task, ProjectStore projects, CancellationToken ct) =>
        MayApply(http, target) ? Refused(http, target, await projects.PolicyOfTaskAsync(task, ct)) : null;

    /// <summary>Whether an agent's write could be refused by the policy at all: only then is the project's policy read.</summary>
    private static bool MayApply(HttpContext http, TaskState? target) => target == TaskState.Done && http.Caller().Kind == ActorKind.Agent;

    /// <summary>A 403 when an agent tries to set the policy: it binds agents, so only a person changes it.</summary>
    public static ProblemHttpResult? RefusedToChange(HttpContext http) =>
        http.Caller().Kind == ActorKind.Agent
            ? TypedResults.Problem("Only a person may set a project's done policy (doneByPeopleOnly): it decides what agents may do.",
                statusCode: StatusCodes.Status403Forbidden, title: Title)
            : null;
}
