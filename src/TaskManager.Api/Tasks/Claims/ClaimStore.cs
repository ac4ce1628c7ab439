using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Events;

namespace TaskManager.Api.Tasks.Claims;

/// <summary>Filters of the claim, resolved.</summary>
public sealed record ClaimFilter(Guid? ProjectId, string[]? Labels, string[]? Priorities);

/// <summary>SQL for claiming: the best ready task, assigned and moved to doing in one transaction with its history event.</summary>
public sealed class ClaimStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    /// <summary>
    /// Assigns the best ready task to <paramref name="assignee"/> and moves it to doing, in one statement. Rows other
    /// claims hold are skipped (SKIP LOCKED), so concurrent claimers each get a different task. Null when none is ready.
    /// </summary>
    public async Task<TaskRow?> ClaimAsync(ClaimFilter filter, string assignee, string actor, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var claim = new NpgsqlCommand($"""
            WITH candidate AS (
                SELECT t.id, t.project_id, t.assignee FROM tasks t
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
                FOR NO KEY UPDATE OF t SKIP LOCKED)
            UPDATE tasks SET status = 'doing', assignee = @assignee,
                position = COALESCE((SELECT max(position) FROM tasks WHERE project_id = candidate.project_id AND status = 'doing'), 0) + @gap,
                updated_at = now(), updated_by = @actor, version = version + 1
            FROM candidate
            WHERE tasks.id = candidate.id
            RETURNING tasks.id, candidate.assignee
            """, connection, transaction);
        claim.Parameters.AddWithValue("project_id", NpgsqlDbType.Uuid, (object?)filter.ProjectId ?? DBNull.Value);
        claim.Parameters.AddWithValue("labels", NpgsqlDbType.Array | NpgsqlDbType.Text, (object?)filter.Labels ?? DBNull.Value);
        claim.Parameters.AddWithValue("priorities", NpgsqlDbType.Array | NpgsqlDbType.Text, (object?)filter.Priorities ?? DBNull.Value);
        claim.Parameters.AddWithValue("assignee", assignee);
        claim.Parameters.AddWithValue("gap", TaskRows.PositionGap);
        claim.Parameters.AddWithValue("actor", actor);
        Guid id;
        string? previousAssignee;
        await using (var reader = await claim.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }
            id = reader.GetGuid(0);
            previousAssignee = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        var row = await TaskRows.ReReadAsync(connection, transaction, id, ct);
        var changes = new JsonObject();
        changes.Change("status", TaskState.Todo, TaskState.Doing);
        changes.Change("assignee", previousAssignee, assignee);
        await EventLog.AppendAsync(connection, transaction, actor, EventKinds.TaskClaimed, row.ProjectId, row.Id,
            new JsonObject { ["ref"] = row.Ref, ["changes"] = changes }, ct);
        await transaction.CommitAsync(signal, ct);
        return row;
    }
}
