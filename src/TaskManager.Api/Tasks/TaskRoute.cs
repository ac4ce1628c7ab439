using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Database;
using TaskManager.Api.Http;

namespace TaskManager.Api.Tasks;

/// <summary>The task a route names (<c>/api/tasks/{task}/…</c>), for every api that reads or changes one task.</summary>
internal static class TaskRoute
{
    /// <summary>The task, or the problem: 400 for a malformed reference, 404 for an unknown one.</summary>
    public static async Task<(TaskRow? Row, ProblemHttpResult? Problem)> FindAsync(string task, TaskStore tasks, CancellationToken ct)
    {
        if (!TaskReference.TryParse(task, out var reference))
        {
            return (null, Problems.BadRequest(TaskReference.Describe(task)));
        }
        var row = await tasks.FindAsync(reference, ct);
        return row is null ? (null, Problems.NotFound($"Task '{task}' does not exist.")) : (row, null);
    }

    /// <summary>
    /// The task a write addresses, the version it expects (If-Match) and the lease it is made under (Lease-Id), or the
    /// problem with any of them.
    /// </summary>
    public static ProblemHttpResult? ReadWriteTarget(
        string task, HttpRequest request, out TaskReference reference, out int? expectedVersion, out Guid? leaseId)
    {
        expectedVersion = null;
        leaseId = null;
        if (!TaskReference.TryParse(task, out reference))
        {
            return Problems.BadRequest(TaskReference.Describe(task));
        }
        if (!Concurrency.TryGetExpectedVersion(request, out expectedVersion, out var ifMatchError))
        {
            return Problems.BadRequest(ifMatchError!);
        }
        return Leases.LeaseRules.ReadHeader(request, out leaseId);
    }

    /// <summary>The changed task with its ETag, or the problem that stopped the write.</summary>
    public static Results<Ok<TaskDto>, ValidationProblem, ProblemHttpResult> ToHttp(WriteResult<TaskRow> result, string task, HttpContext http) =>
        result.ToHttp($"Task '{task}'", TaskDto.From, t => t.Version, http);

    /// <summary>For a keyed request: the answer of <see cref="ToHttp"/>, stored with the write (see Idempotency).</summary>
    public static BeforeCommit<TaskRow>? RecordResponse(HttpContext http) => http.RecordResponse<TaskRow, TaskDto>(TaskDto.From, t => t.Version);
}
