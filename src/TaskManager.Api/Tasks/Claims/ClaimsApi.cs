using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks.Leases;

namespace TaskManager.Api.Tasks.Claims;

/// <summary>
/// Which ready task to claim. Every filter is optional; the best match is the highest priority, then board order.
/// <see cref="LeaseSeconds"/>: a lease length of the claim's own (1 s to a week) instead of the project's for agents
/// (none for people).
/// </summary>
public sealed record ClaimTaskRequest(string? Project, string[]? Labels, TaskPriority[]? Priority, string? Assignee, int? LeaseSeconds);

/// <summary>Claiming: an agent (or a person) takes the best ready task, so that concurrent workers never take the same one.</summary>
public static class ClaimsApi
{
    public static RouteGroupBuilder MapClaimsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").RequireScope(Scopes.Read).WithApiConventions();
        group.MapPost("/claim", ClaimTask).WithName("ClaimTask")
            .WithSummary("Atomically assigns the best ready task (priority, then board order) to the caller and moves it to doing, under a lease (lease.id, lease.expiresAt) and with the latest handoff note; 204 when none is ready.")
            .RequireScope(Scopes.Write).WithIdempotency();
        return group;
    }

    public static async Task<Results<Ok<TaskDto>, NoContent, ValidationProblem>> ClaimTask(
        ClaimTaskRequest request, ClaimStore claims, ProjectStore projects, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        var validation = new Validation();
        Guid? projectId = null;
        if (request.Project is not null && (projectId = (await projects.FindAsync(request.Project, ct))?.Id) is null)
        {
            validation.Add("project", $"Project '{request.Project}' does not exist.");
        }
        var labels = request.Labels is null ? null : TasksApi.ValidateLabels(request.Labels, validation);
        var assignee = TasksApi.ValidateAssignee(request.Assignee, validation) ?? user.Actor();
        LeaseRules.Validate(request.LeaseSeconds, "leaseSeconds", validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var filter = new ClaimFilter(projectId, labels is { Length: > 0 } ? labels : null,
            request.Priority is { Length: > 0 } p ? [.. p.Select(x => Naming.SnakeCase(x))] : null);
        var claimer = new Claimer(user.Actor(), assignee, http.Caller().Kind == ActorKind.Agent, request.LeaseSeconds);
        var claimed = await claims.ClaimAsync(filter, claimer, http.RecordResponse<ClaimedTask>(c => Claimed(c, http)), ct);
        return claimed is null ? TypedResults.NoContent() : Claimed(claimed, http);
    }

    private static Ok<TaskDto> Claimed(ClaimedTask claimed, HttpContext http)
    {
        Concurrency.SetETag(http, claimed.Row.Version);
        return TypedResults.Ok(TaskDto.From(claimed.Row, forHolder: true, claimed.Handoff));
    }
}
