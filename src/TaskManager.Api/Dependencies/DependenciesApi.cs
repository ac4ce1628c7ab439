using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Http;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Dependencies;

public sealed record AddBlockerRequest([property: Required] string? Blocker);

/// <summary>Blocked-by dependencies: a task is ready only when every task blocking it is done.</summary>
public static class DependenciesApi
{
    public static RouteGroupBuilder MapDependenciesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks/{task}/blockers").WithTags("Tasks").RequireScope(Scopes.Read).WithApiConventions();
        group.MapGet("/", ListBlockers).WithName("ListBlockers").WithSummary("Lists the tasks this task is blocked by, done or not.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", AddBlocker).WithName("AddBlocker")
            .WithSummary("Marks the task as blocked by another task (any project); a dependency cycle is refused with 409.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        group.MapDelete("/{blocker}", RemoveBlocker).WithName("RemoveBlocker")
            .WithSummary("Removes a blocked-by dependency; removing one that is not there changes nothing.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        return group;
    }

    public static async Task<Results<Ok<TaskDto[]>, ProblemHttpResult>> ListBlockers(
        string task, TaskStore tasks, DependencyStore dependencies, CancellationToken ct)
    {
        var (row, problem) = await TaskRoute.FindAsync(task, tasks, ct);
        if (row is null)
        {
            return problem!;
        }
        return TypedResults.Ok((await dependencies.ListBlockersAsync(row.Id, ct)).Select(TaskDto.From).ToArray());
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> AddBlocker(
        string task, AddBlockerRequest request, DependencyStore dependencies, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (TaskRoute.ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion, out var leaseId) is { } badTarget)
        {
            return badTarget;
        }
        if (!TaskReference.TryParse(request.Blocker, out var blocker))
        {
            return Problems.Invalid("blocker", request.Blocker is null ? "blocker is required: the blocking task's ref or id." : TaskReference.Describe(request.Blocker));
        }
        var result = await dependencies.AddBlockerAsync(reference, expectedVersion, blocker, user.Actor(), TaskRoute.RecordResponse(http), ct, leaseId);
        return TaskRoute.ToHttp(result, task, http);
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> RemoveBlocker(
        string task, string blocker, DependencyStore dependencies, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (TaskRoute.ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion, out var leaseId) is { } badTarget)
        {
            return badTarget;
        }
        if (!TaskReference.TryParse(blocker, out var blockerReference))
        {
            return Problems.Invalid("blocker", TaskReference.Describe(blocker));
        }
        var result = await dependencies.RemoveBlockerAsync(reference, expectedVersion, blockerReference, user.Actor(), TaskRoute.RecordResponse(http), ct, leaseId);
        return TaskRoute.ToHttp(result, task, http);
    }
}
