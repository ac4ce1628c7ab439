using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;

namespace TaskManager.Api.Tasks.Ordering;

/// <summary>SQL for the board order: a task moved within or between status columns, in one transaction with its history event.</summary>
public sealed class OrderingStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    private const int MaxPositionScale = 100;

    /// <summary>
    /// Moves a task into <paramref name="status"/>'s column, between <paramref name="anchor"/> and its neighbour on the
    /// chosen side (the midpoint of their positions, which numeric keeps exact), or to the end of the column.
    /// No other task's position changes.
    /// </summary>
    public Task<WriteResult<TaskRow>> MoveAsync(
        TaskReference reference, int? expectedVersion, TaskState? status, (TaskReference Task, bool After, string Field)? anchor,
        string actor, BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct, Guid? leaseId = null) =>
        TaskRows.WriteAsync(dataSource, signal, reference, expectedVersion, async (connection, transaction, current) =>
        {
            var target = status ?? current.Status;
            if (TaskRows.BlockedFrom(current, target) is { } blocked)
            {
                return blocked;
            }
            TaskRow? neighbour = null;
            if (anchor is { } a)
            {
                neighbour = await TaskRows.FindAsync(connection, transaction, a.Task, forUpdate: false, ct);
                var problem = neighbour switch
                {
                    null => "That task does not exist.",
                    _ when neighbour.Id == current.Id => "A task cannot be placed next to itself.",
                    _ when neighbour.ProjectId != current.ProjectId => $"{neighbour.Ref} is in another project.",
                    _ when neighbour.Status != target => $"{neighbour.Ref} is in the {Naming.SnakeCase(neighbour.Status)} column, not {Naming.SnakeCase(target)}.",
                    _ => null,
                };
                if (problem is not null)
                {
                    return new WriteResult<TaskRow>.Invalid(a.Field, problem);
                }
            }

            // One round trip: enter the column (a statement of its own, so that the positions below are read after
            // whoever moved a task into it has committed), move, renumber the column if it is due.
            var move = new NpgsqlBatchCommand("""
                WITH anchor AS (SELECT position FROM tasks WHERE id = @anchor_id),
                neighbour AS (
                    SELECT CASE WHEN @after
                        THEN (SELECT min(t.position) FROM tasks t, anchor a
                              WHERE t.project_id = @project_id AND t.status = @status AND t.id <> @id AND (t.position, t.id) > (a.position, @anchor_id))
                        ELSE (SELECT max(t.position) FROM tasks t, anchor a
                              WHERE t.project_id = @project_id AND t.status = @status AND t.id <> @id AND (t.position, t.id) < (a.position, @anchor_id))
                    END AS position),
                target AS (
                    SELECT CASE
                        WHEN @anchor_id::uuid IS NULL THEN COALESCE(
                            (SELECT max(position) FROM tasks WHERE project_id = @project_id AND status = @status AND id <> @id), 0) + @gap
                        WHEN n.position IS NULL THEN a.position + CASE WHEN @after THEN @gap ELSE -@gap END
                        ELSE (a.position + n.position) * 0.5
                    END AS position
                    FROM (SELECT 1) one LEFT JOIN anchor a ON true LEFT JOIN neighbour n ON true)
                UPDATE tasks SET status = @status, position = (SELECT position FROM target),
                    updated_at = now(), updated_by = @actor, version = version + 1
                WHERE id = @id
                """);
            move.Parameters.AddWithValue("id", current.Id);
            move.Parameters.AddWithValue("project_id", current.ProjectId);
            move.Parameters.AddWithValue("status", Naming.SnakeCase(target));
            move.Parameters.AddWithValue("anchor_id", NpgsqlDbType.Uuid, (object?)neighbour?.Id ?? DBNull.Value);
            move.Parameters.AddWithValue("after", anchor?.After ?? true);
            move.Parameters.AddWithValue("gap", TaskRows.PositionGap);
            move.Parameters.AddWithValue("actor", actor);
            var rebalance = RebalanceIfDeep(current.ProjectId, target);
            await using (var place = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands = { LockedWrite.Enter(TaskRows.ColumnSection(current.ProjectId, target)), move, rebalance },
            })
            {
                await place.ExecuteNonQueryAsync(ct);
            }
            var rebalanced = rebalance.RecordsAffected > 0;

            var data = new JsonObject { ["ref"] = current.Ref };
            data.Change("status", current.Status, target);
            if (neighbour is not null)
            {
                data[anchor!.Value.After ? "after" : "before"] = neighbour.Ref;
            }
            if (rebalanced)
            {
                // Every position in the column changed: readers that keep a copy of it must read it again.
                data["rebalanced"] = true;
            }
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    EventLog.Append(actor, EventKinds.TaskMoved, current.ProjectId, current.Id, data, TaskRows.Dependents(current.Status, target)),
                },
            };
            TaskRows.AddReadyEvents(batch, actor, current, target);
            batch.BatchCommands.Add(TaskRows.ReRead(current.Id));
            return new WriteResult<TaskRow>.Done((await TaskRows.WriteAndReReadAsync(batch, ct))!);
        }, ct, beforeCommit: beforeCommit, leaseId: leaseId);

    /// <summary>
    /// Each move into the same gap adds a decimal digit to the midpoint. Past <see cref="MaxPositionScale"/> digits
    /// the column is renumbered (positions only: no version, no history), keeping positions short. The statement
    /// updates rows only when it renumbered.
    /// </summary>
    /// <remarks>
    /// It runs while the move holds the column, so it must never wait for a row lock: the holder may be waiting for
    /// this column (another move within it: a deadlock) or for something that waits for it (a claim or a status-changing
    /// PATCH, a longer cycle), and any other holder would keep every writer of the column waiting. So it locks the rows
    /// it can (SKIP LOCKED) and renumbers only when that was the whole column; otherwise the positions stay as they are
    /// (exact, only longer) and the next move into the column tries again. No row can enter the column meanwhile (that
    /// takes the column), and one leaving it is either locked or no longer matches: equal counts mean the move holds
    /// every row of the column.
    /// </remarks>
    private static NpgsqlBatchCommand RebalanceIfDeep(Guid projectId, TaskState status) => new("""
        WITH due AS (
            SELECT EXISTS (SELECT 1 FROM tasks WHERE project_id = @project_id AND status = @status AND scale(position) > @max_scale) AS deep),
        locked AS MATERIALIZED (
            SELECT id, position FROM tasks
            WHERE project_id = @project_id AND status = @status AND (SELECT deep FROM due)
            FOR NO KEY UPDATE SKIP LOCKED)
        UPDATE tasks SET position = ranked.n * @gap
        FROM (SELECT id, row_number() OVER (ORDER BY position, id) AS n FROM locked) ranked
        WHERE tasks.id = ranked.id
          AND (SELECT count(*) FROM locked) = (SELECT count(*) FROM tasks WHERE project_id = @project_id AND status = @status)
        """)
    {
        Parameters =
        {
            new("project_id", projectId),
            new("status", Naming.SnakeCase(status)),
            new("gap", TaskRows.PositionGap),
            new("max_scale", MaxPositionScale),
        },
    };
}
