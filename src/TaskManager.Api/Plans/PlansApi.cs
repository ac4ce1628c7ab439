using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;

namespace TaskManager.Api.Plans;

/// <summary>Plans: a tree of tasks with subtasks and blocked-by edges between them, created in one step.</summary>
public static class PlansApi
{
    public static RouteGroupBuilder MapPlansApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/plans").WithTags("Tasks").RequireScope(Scopes.Read).WithApiConventions();
        group.MapPost("/", CreatePlan).WithName("CreatePlan")
            .WithSummary("Creates a tree of tasks (subtasks, labels, priorities, blocked-by edges between them by name or to existing refs) in todo, all or nothing.")
            .WithDescription($"Tasks refer to each other by their name in the plan (unique, ignoring case); a blockedBy entry is such a name or an existing task's ref or id. " +
                             $"At most {PlanValidation.MaxTasks} tasks, {PlanValidation.MaxDepth} levels deep. Every problem is named by its path, e.g. tasks[0].subtasks[1].blockedBy[0]; " +
                             "then nothing is created. The answer lists each task's name, ref, id and parent's ref in plan order (each parent before its subtasks), which is also the order of their refs and board positions.")
            .RequireScope(Scopes.Write).WithIdempotency()
            .ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static async Task<Results<Created<PlanDto>, ValidationProblem, ProblemHttpResult>> CreatePlan(
        CreatePlanRequest request, PlanStore plans, ProjectStore projects, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        var validation = new Validation();
        var project = await ProjectsApi.FindRequiredAsync(request.Project, projects, validation, ct);
        var tasks = await PlanValidation.ValidateAsync(request.Tasks, plans, validation, ct);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }

        var numbers = await plans.CreateAsync(project!.Id, tasks!, user.Actor(), http.RecordResponse<int[]>(n => Created(project.Key, tasks!, n)), ct);
        if (numbers is null)
        {
            return Problems.Conflict($"Project '{project.Key}' is archived; restore it before adding tasks.");
        }
        return Created(project.Key, tasks!, numbers);
    }

    /// <summary>A plan is no resource of its own (no Location): its tasks are, each named by its ref in the body.</summary>
    private static Created<PlanDto> Created(string projectKey, PlannedTask[] tasks, int[] numbers)
    {
        var refs = tasks.Select((t, i) => (t.Id, Ref: $"{projectKey}-{numbers[i]}")).ToDictionary(t => t.Id, t => t.Ref);
        return TypedResults.Created((string?)null, new PlanDto(projectKey,
            [.. tasks.Select(t => new PlannedTaskDto(t.Name, refs[t.Id], t.Id, t.Values.ParentId is { } parent ? refs[parent] : null))]));
    }
}
