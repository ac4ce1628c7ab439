using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;

namespace TaskManager.Api.Tasks.Claims;

/// <summary>Filters of the claim, resolved.</summary>
public sealed record ClaimFilter(Guid? ProjectId, string[]? Labels, string[]? Priorities);

/// <summary>SQL for claiming: the best ready task, assigned and moved to doing in one transaction with its history event.</summary>
public sealed class ClaimStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    /// <summary>
    /// Assigns the best ready task to <paramref name="assignee"/> and moves it to the end of doing. Rows other claims
    /// hold are skipped (SKIP LOCKED), so concurrent claimers each get a different task. Null when none is ready.
    /// </summary>
    public async Task<TaskRow?> ClaimAsync(ClaimFilter filter, string assignee, string actor, BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct)
    {
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
                updated_at = now(), updated_by = @actor, version = version + 1
            WHERE id = @id
            """);
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
        if (beforeCommit is not null)
        {
            await beforeCommit(transaction, row, ct);
        }
        await transaction.CommitAsync(signal, ct);
        return row;
    }
}
