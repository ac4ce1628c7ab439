using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Http;
using TaskManager.Api.Text;

namespace TaskManager.Api.Tasks.Leases;

/// <summary>A handoff note (all but the summary optional): what was done, what is left, the files or branch touched, links.</summary>
public sealed record ReleaseTaskRequest(string? Summary, string? Remaining, string[]? Files, string? Branch, string[]? Links);

/// <summary>Leases and handoffs: a heartbeat keeps a claim, a release hands the task back with a note for the next claimer.</summary>
public static class LeasesApi
{
    public const int MaxSummaryLength = 4000;
    public const int MaxRemainingLength = 16000;
    public const int MaxItems = 50;
    public const int MaxItemLength = 500;
    private const int MaxHandoffs = 50;

    public static RouteGroupBuilder MapLeasesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").RequireScope(Scopes.Read).WithApiConventions();
        group.MapPost("/{task}/heartbeat", Heartbeat).WithName("Heartbeat")
            .WithSummary("Renews the caller's lease on a claimed task for its full length (Lease-Id: the claim's lease.id, optional for its holder); 409 when the lease is not the caller's or ran out.")
            .RequireScope(Scopes.Write)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/{task}/release", ReleaseTask).WithName("ReleaseTask")
            .WithSummary("Hands a task in doing or review back to todo, unassigned, with a handoff note the next claimer receives.")
            .RequireScope(Scopes.Write).WithIdempotency()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{task}/handoffs", ListHandoffs).WithName("ListHandoffs")
            .WithSummary("The task's handoff notes, newest first (at most 50).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Results<Ok<LeaseDto>, ProblemHttpResult>> Heartbeat(
        string task, LeaseStore leases, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (!TaskReference.TryParse(task, out var reference))
        {
            return Problems.BadRequest(TaskReference.Describe(task));
        }
        if (LeaseRules.ReadHeader(http.Request, out var leaseId) is { } badLease)
        {
            return badLease;
        }
        // A heartbeat is refused (not found, not the caller's lease) or renews: it validates nothing else.
        var result = await leases.HeartbeatAsync(reference, leaseId, user.Actor(), ct);
        return result is WriteResult<TaskRow>.Done { Row.Lease: { } lease }
            ? TypedResults.Ok(LeaseDto.From(lease, forHolder: true))
            : (ProblemHttpResult)TaskRoute.ToHttp(result, task, http).Result;
    }

    public static async Task<Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult>> ReleaseTask(
        string task, ReleaseTaskRequest request, LeaseStore leases, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
    {
        if (!TaskReference.TryParse(task, out var reference))
        {
            return Problems.BadRequest(TaskReference.Describe(task));
        }
        if (LeaseRules.ReadHeader(http.Request, out var leaseId) is { } badLease)
        {
            return badLease;
        }
        var validation = new Validation();
        var handoff = Validate(request, validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }
        var result = await leases.ReleaseAsync(reference, leaseId, handoff, user.Actor(), http.Caller().Kind == ActorKind.Person,
            TaskRoute.RecordResponse(http), ct);
        return TaskRoute.ToHttp(result, task, http);
    }

    public static async Task<Results<Ok<HandoffDto[]>, ProblemHttpResult>> ListHandoffs(
        string task, TaskStore tasks, LeaseStore leases, CancellationToken ct)
    {
        var (row, problem) = await TaskRoute.FindAsync(task, tasks, ct);
        if (row is null)
        {
            return problem!;
        }
        return TypedResults.Ok((await leases.HandoffsAsync(row.Id, MaxHandoffs, ct)).ToArray());
    }

    private static Handoff Validate(ReleaseTaskRequest request, Validation validation)
    {
        var summary = request.Summary?.Trim() ?? "";
        if (summary.Length is 0 or > MaxSummaryLength)
        {
            validation.Add("summary", $"summary is required: 1 to {MaxSummaryLength} characters on what was done (got {summary.Length}).");
        }
        else
        {
            TextRules.MultiLine(request.Summary, "summary", validation);
        }
        var remaining = request.Remaining?.Trim() ?? "";
        if (remaining.Length > MaxRemainingLength)
        {
            validation.Add("remaining", $"remaining must be at most {MaxRemainingLength} characters (got {remaining.Length}).");
        }
        else
        {
            TextRules.MultiLine(request.Remaining, "remaining", validation);
        }
        var branch = string.IsNullOrWhiteSpace(request.Branch) ? null : request.Branch.Trim();
        if (branch is { Length: > MaxItemLength })
        {
            validation.Add("branch", $"branch must be at most {MaxItemLength} characters.");
        }
        else
        {
            TextRules.SingleLine(request.Branch, "branch", validation);
        }
        var files = Items(request.Files, "files", validation, _ => null);
        var links = Items(request.Links, "links", validation, link =>
            Uri.TryCreate(link, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
                ? null
                : "must be an absolute http or https URL");
        return new Handoff(summary, remaining, files, branch, links);
    }

    /// <summary>A list of short single-line items (files, links), each checked by <paramref name="problem"/> too.</summary>
    private static string[] Items(string[]? items, string field, Validation validation, Func<string, string?> problem)
    {
        if (items is null)
        {
            return [];
        }
        if (items.Length > MaxItems)
        {
            validation.Add(field, $"{field} has at most {MaxItems} entries (got {items.Length}).");
            return [];
        }
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i]?.Trim() ?? "";
            if (item.Length is 0 or > MaxItemLength)
            {
                validation.Add(field, $"{field}[{i}] must be 1 to {MaxItemLength} characters (got {item.Length}).");
            }
            else if (TextRules.SingleLine(items[i], field, validation, name: $"{field}[{i}]") && problem(item) is { } why)
            {
                validation.Add(field, $"{field}[{i}] {why}.");
            }
        }
        return [.. items.Select(i => i?.Trim() ?? "")];
    }
}
