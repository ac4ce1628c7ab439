using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Tasks.Leases;

namespace TaskManager.Api.Tasks.Claims;

/// <summary>Filters of the claim, resolved.</summary>
public sealed record ClaimFilter(Guid? ProjectId, string[]? Labels, string[]? Priorities);

/// <summary>
/// Who claims and under what lease: <see cref="LeaseSeconds"/> when the claim asks for a length of its own; otherwise
/// an agent's lease lasts the project's <c>agentLeaseSeconds</c> and a person's does not expire.
/// </summary>
public sealed record Claimer(string Actor, string Assignee, bool IsAgent, int? LeaseSeconds);

/// <summary>A claimed task and the latest handoff note left on it.</summary>
public sealed record ClaimedTask(TaskRow Row, HandoffDto? Handoff);

/// <summary>SQL for claiming: the best ready task, assigned and moved to doing in one transaction with its history event.</summary>
public sealed class ClaimStore(NpgsqlDataSource dataSource, EventSignal signal, LeaseStore leases)
{
    // Leases that ran out are expired before a claim picks (a sweep also runs every few seconds): the tasks they held are
    // the first a claim should see. Bounded, so that a claim never waits for a large backlog.
    private const int ExpiriesPerClaim = 20;

    /// <summary>
    /// Assigns the best ready task to the claimer, moves it to the end of doing and gives the claimer a lease on it.
    /// Rows other claims hold are skipped (SKIP LOCKED), so concurrent claimers each get a different task. Null when
    /// none is ready.
    /// </summary>
    public async Task<ClaimedTask?> ClaimAsync(ClaimFilter filter, Claimer claimer, BeforeCommit<ClaimedTask>? beforeCommit, CancellationToken ct)
    {
        await leases.TryExpireDueAsync(filter.ProjectId, ExpiriesPerClaim, ct);
        var (assignee, actor) = (claimer.Assignee, claimer.Actor);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var pick = new NpgsqlCommand($"""
            SELECT t.id, t.project_id, p.key || '-' || t.number, t.assignee FROM tasks t
            JOIN projects p ON p.id = t.project_id
            WHERE t.status = 'todo' AND t.archived_at IS NULL AND p.archived_at IS NULL
              AND (@project_id::uuid IS NULL OR t.project_id = @project_id)
              AND (@labels::text[] IS NULL OR t.labels && @labels)
              AND (@priorities::text[] IS NULL OR t.priority = ANY (@priorities))
              AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id
                              WHERE d.task_id = t.id AND {TaskRows.OpenBlocker})
            ORDER BY CASE t.priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                     t.position, t.id
            LIMIT 1
            FOR NO KEY UPDATE OF t SKIP LOCKED
            """, connection, transaction);
        pick.Parameters.AddWithValue("project_id", NpgsqlDbType.Uuid, (object?)filter.ProjectId ?? DBNull.Value);
        pick.Parameters.AddWithValue("labels", NpgsqlDbType.Array | NpgsqlDbType.Text, (object?)filter.Labels ?? DBNull.Value);
        pick.Parameters.AddWithValue("priorities", NpgsqlDbType.Array | NpgsqlDbType.Text, (object?)filter.Priorities ?? DBNull.Value);
        Guid id, projectId;
        string reference;
        string? previousAssignee;
        await using (var reader = await pick.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }
            (id, projectId, reference) = (reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2));
            previousAssignee = reader.IsDBNull(3) ? null : reader.GetString(3);
        }

        // The task's row lock first, then the doing column, as moves do; the end of the column is read in a statement
        // after entering it, so that two claims (or a claim and a move) never take the same position.
        var claim = new NpgsqlBatchCommand("""
            UPDATE tasks SET status = 'doing', assignee = @assignee,
                position = COALESCE((SELECT max(position) FROM tasks WHERE project_id = @project_id AND status = 'doing'), 0) + @gap,
                lease_id = @lease_id, lease_holder = @actor, lease_seconds = lease.seconds,
                lease_expires_at = now() + make_interval(secs => lease.seconds), lease_heartbeat_at = now(),
                lease_expired_holder = NULL, lease_expired_at = NULL,
                updated_at = now(), updated_by = @actor, version = version + 1
            FROM (SELECT COALESCE(@lease_seconds,
                      CASE WHEN @agent THEN (SELECT NULLIF(agent_lease_seconds, 0) FROM projects WHERE id = @project_id) END) AS seconds) lease
            WHERE id = @id
            """);
        claim.Parameters.AddWithValue("lease_id", Guid.CreateVersion7());
        claim.Parameters.AddWithValue("lease_seconds", NpgsqlDbType.Integer, (object?)claimer.LeaseSeconds ?? DBNull.Value);
        claim.Parameters.AddWithValue("agent", claimer.IsAgent);
        claim.Parameters.AddWithValue("id", id);
        claim.Parameters.AddWithValue("project_id", projectId);
        claim.Parameters.AddWithValue("assignee", assignee);
        claim.Parameters.AddWithValue("gap", TaskRows.PositionGap);
        claim.Parameters.AddWithValue("actor", actor);
        var changes = new JsonObject();
        changes.Change("status", TaskState.Todo, TaskState.Doing);
        changes.Change("assignee", previousAssignee, assignee);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                LockedWrite.Enter(TaskRows.ColumnSection(projectId, TaskState.Doing)),
                claim,
                EventLog.Append(actor, EventKinds.TaskClaimed, projectId, id, new JsonObject { ["ref"] = reference, ["changes"] = changes }),
                TaskRows.ReRead(id),
            },
        };
        var row = (await TaskRows.WriteAndReReadAsync(batch, ct))!;
        var claimed = new ClaimedTask(row, await LeaseStore.LatestHandoffAsync(connection, transaction, id, ct));
        if (beforeCommit is not null)
        {
            await beforeCommit(transaction, claimed, ct);
        }
        await transaction.CommitAsync(signal, ct);
        return claimed;
    }
}
