using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks.Leases;

namespace TaskManager.Api.Tasks.Ordering;

/// <summary>
/// Moves a task to <see cref="Status"/> (default: its current column), just before or just after a neighbour in that
/// column, or to the end of it when no neighbour is given. Only the moved task's position changes.
/// </summary>
public sealed record MoveTaskRequest(TaskState? Status, string? Before, string? After);

/// <summary>The board order: moving a task within its status column or into another one.</summary>
public static class OrderingApi
{
    public static RouteGroupBuilder MapOrderingApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").RequireScope(Scopes.Read).WithApiConventions();
        group.MapPost("/{task}/move", MoveTask).WithName("MoveTask")
            .WithSummary("Moves a task to a status column, before or after a neighbour (or to the end); no other task is renumbered.")
            .RequireScope(Scopes.Write).WithConcurrencyProblems().WithIdempotency();
        return group;
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> MoveTask(
        string task, MoveTaskRequest request, OrderingStore ordering, ProjectStore projects, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (TaskRoute.ReadWriteTarget(task, http.Request, out var reference, out var expectedVersion, out var leaseId) is { } badTarget)
        {
            return badTarget;
        }
        var validation = new Validation();
        if (request.Before is not null && request.After is not null)
        {
            validation.Add("before", "Give before or after, not both.");
        }
        (TaskReference, bool, string)? anchor = null;
        foreach (var (text, after, field) in new[] { (request.Before, false, "before"), (request.After, true, "after") })
        {
            if (text is null)
            {
                continue;
            }
            if (TaskReference.TryParse(text, out var neighbour))
            {
                anchor = (neighbour, after, field);
            }
            else
            {
                validation.Add(field, TaskReference.Describe(text));
            }
        }
        if (request.Status is null && anchor is null)
        {
            validation.Add("status", "Give a status, a neighbour (before or after), or both.");
        }
        if (!validation.IsValid)
        {
            return validation.Problem();
        }
        if (await DonePolicy.RefusedForTaskAsync(http, request.Status, reference, projects, ct) is { } refused)
        {
            return refused;
        }
        var result = await ordering.MoveAsync(reference, expectedVersion, request.Status, anchor, user.Actor(), TaskRoute.RecordResponse(http), ct, leaseId);
        return TaskRoute.ToHttp(result, task, http);
    }
}
