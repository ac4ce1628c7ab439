using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Events;
using TaskManager.Api.Http;

namespace TaskManager.Api.Tasks.Leases;

/// <summary>
/// What a lease allows. A claim gives its claimer a lease on the task; the holder's writes and heartbeats renew it
/// (the database's <c>tasks_lease_rules</c> trigger renews on writes); when it runs out the task goes back to todo
/// (<see cref="LeaseStore.ExpireAsync"/>). A write may carry the lease it is made under (<c>Lease-Id</c>, MCP
/// <c>leaseId</c>): once that lease is gone, the write is refused, so an agent that was presumed dead cannot overwrite
/// the work of whoever took the task over.
/// </summary>
public static class LeaseRules
{
    public const string Header = "Lease-Id";

    /// <summary>A week: the longest lease a claim or a project may ask for.</summary>
    public const int MaxSeconds = 604800;

    /// <summary>The actor named in the history of an expiry: nobody did it, the lease ran out.</summary>
    public const string ExpiryActor = "lease-expiry";

    /// <summary>The 409 for a write under a lease that is no longer the task's current one, or has run out.</summary>
    public static WriteResult<TaskRow>.Conflict? Stale(TaskRow current, Guid leaseId)
    {
        if (current.Lease is { Expired: false } lease && lease.Id == leaseId)
        {
            return null;
        }
        var now = current.Lease is { } other && other.Id != leaseId
            ? $"{current.Ref} is now claimed by {other.Holder}."
            : current.Status == TaskState.Todo ? $"{current.Ref} is back in todo."
            : $"{current.Ref} is in {Naming.SnakeCase(current.Status)}: a lease ends when its task leaves doing; write without the lease id.";
        return new WriteResult<TaskRow>.Conflict(
            $"Your lease expired or was released, so nothing was changed; re-claim. {now}",
            new Dictionary<string, object?> { ["lease"] = "expired" });
    }

    /// <summary>The lease a write is made under (the <c>Lease-Id</c> header), or the 400 for a malformed one.</summary>
    public static ProblemHttpResult? ReadHeader(HttpRequest request, out Guid? leaseId)
    {
        leaseId = null;
        var values = request.Headers[Header];
        if (values.Count == 0)
        {
            return null;
        }
        if (values.Count > 1 || !Guid.TryParse(values[0], out var id))
        {
            return Problems.BadRequest($"{Header} must be one lease id (a UUID) from the claim's answer (lease.id).");
        }
        leaseId = id;
        return null;
    }

    /// <summary>A claim's own lease length, when it asks for one: 1 second to a week.</summary>
    public static void Validate(int? seconds, string field, Validation validation)
    {
        if (seconds is < 1 or > MaxSeconds)
        {
            validation.Add(field, $"{field} must be 1 to {MaxSeconds} seconds (a week).");
        }
    }
}
