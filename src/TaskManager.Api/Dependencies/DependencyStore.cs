using System.Text.Json.Nodes;
using Npgsql;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Dependencies;

/// <summary>SQL for blocked-by dependencies between tasks. Every change runs in one transaction with its history event.</summary>
public sealed class DependencyStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    /// <summary>Every task blocking <paramref name="taskId"/>, open or not, in reference order.</summary>
    public async Task<List<TaskRow>> ListBlockersAsync(Guid taskId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            {TaskRows.Select}
            WHERE t.id IN (SELECT blocker_id FROM task_dependencies WHERE task_id = @id)
            ORDER BY p.key, t.number
            """);
        command.Parameters.AddWithValue("id", taskId);
        return await command.ReadAllAsync(TaskRows.Read, ct);
    }

    /// <summary>Makes <paramref name="blocker"/> block the task, unless that closes a cycle. Adding it twice is a no-op.</summary>
    public Task<WriteResult<TaskRow>> AddBlockerAsync(
        TaskReference reference, int? expectedVersion, TaskReference blocker, string actor, BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct,
        Guid? leaseId = null) =>
        // One dependency change at a time, so that two concurrent additions cannot close a cycle between them.
        TaskRows.WriteAsync(dataSource, signal, reference, expectedVersion, exclusiveSection: TaskRows.DependencySection, leaseId: leaseId, write: async (connection, transaction, current) =>
        {
            var blocking = await TaskRows.FindAsync(connection, transaction, blocker, forUpdate: false, ct);
            if (blocking is null)
            {
                return new WriteResult<TaskRow>.Invalid("blocker", "That task does not exist.");
            }
            if (blocking.Id == current.Id)
            {
                return new WriteResult<TaskRow>.Invalid("blocker", "A task cannot block itself.");
            }

            await using var cycle = new NpgsqlCommand("""
                WITH RECURSIVE upstream AS (
                    SELECT blocker_id FROM task_dependencies WHERE task_id = @blocker_id
                    UNION
                    SELECT d.blocker_id FROM task_dependencies d JOIN upstream u ON d.task_id = u.blocker_id)
                SELECT EXISTS (SELECT 1 FROM task_dependencies WHERE task_id = @task_id AND blocker_id = @blocker_id),
                       EXISTS (SELECT 1 FROM upstream WHERE blocker_id = @task_id)
                """, connection, transaction);
            cycle.Parameters.AddWithValue("task_id", current.Id);
            cycle.Parameters.AddWithValue("blocker_id", blocking.Id);
            bool exists, closesCycle;
            await using (var reader = await cycle.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                (exists, closesCycle) = (reader.GetBoolean(0), reader.GetBoolean(1));
            }
            if (exists)
            {
                return new WriteResult<TaskRow>.Done(current);
            }
            if (closesCycle)
            {
                return new WriteResult<TaskRow>.Conflict(
                    $"{blocking.Ref} already waits (directly or through other tasks) for {current.Ref}; making it block {current.Ref} would create a cycle.");
            }

            await using var insert = new NpgsqlCommand("""
                INSERT INTO task_dependencies (task_id, blocker_id, created_by) VALUES (@task_id, @blocker_id, @actor);
                UPDATE tasks SET updated_at = now(), updated_by = @actor, version = version + 1 WHERE id = @task_id;
                """, connection, transaction);
            insert.Parameters.AddWithValue("task_id", current.Id);
            insert.Parameters.AddWithValue("blocker_id", blocking.Id);
            insert.Parameters.AddWithValue("actor", actor);
            await insert.ExecuteNonQueryAsync(ct);
            var updated = await TaskRows.ReReadAsync(connection, transaction, current.Id, ct);
            await EventLog.AppendAsync(connection, transaction, actor, EventKinds.DependencyAdded, current.ProjectId, current.Id,
                new JsonObject { ["ref"] = current.Ref, ["blocker"] = blocking.Ref }, ct);
            return new WriteResult<TaskRow>.Done(updated);
        }, ct: ct, beforeCommit: beforeCommit);

    /// <summary>Stops <paramref name="blocker"/> blocking the task; removing a dependency that isn't there is a no-op.</summary>
    public Task<WriteResult<TaskRow>> RemoveBlockerAsync(
        TaskReference reference, int? expectedVersion, TaskReference blocker, string actor, BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct,
        Guid? leaseId = null) =>
        TaskRows.WriteAsync(dataSource, signal, reference, expectedVersion, leaseId: leaseId, write: async (connection, transaction, current) =>
        {
            var blocking = await TaskRows.FindAsync(connection, transaction, blocker, forUpdate: false, ct);
            if (blocking is null)
            {
                return new WriteResult<TaskRow>.Invalid("blocker", "That task does not exist.");
            }
            await using var delete = new NpgsqlCommand("""
                WITH removed AS (DELETE FROM task_dependencies WHERE task_id = @task_id AND blocker_id = @blocker_id RETURNING task_id)
                UPDATE tasks SET updated_at = now(), updated_by = @actor, version = version + 1
                WHERE id IN (SELECT task_id FROM removed)
                """, connection, transaction);
            delete.Parameters.AddWithValue("task_id", current.Id);
            delete.Parameters.AddWithValue("blocker_id", blocking.Id);
            delete.Parameters.AddWithValue("actor", actor);
            if (await delete.ExecuteNonQueryAsync(ct) == 0)
            {
                return new WriteResult<TaskRow>.Done(current);
            }
            var updated = await TaskRows.ReReadAsync(connection, transaction, current.Id, ct);
            await EventLog.AppendAsync(connection, transaction, actor, EventKinds.DependencyRemoved, current.ProjectId, current.Id,
                new JsonObject { ["ref"] = current.Ref, ["blocker"] = blocking.Ref }, ct);
            // Its last open blocker gone: the task is ready (a blocker finishing at the same time waits for this row and
            // then sees the dependency gone, see TaskRows.ReadyEvents).
            if (blocking.Status != TaskState.Done && updated is { Status: TaskState.Todo, ArchivedAt: null, OpenBlockers: [] })
            {
                await EventLog.AppendAsync(connection, transaction, actor, EventKinds.TaskReady, current.ProjectId, current.Id,
                    new JsonObject { ["ref"] = current.Ref, ["unblockedBy"] = blocking.Ref }, ct);
            }
            return new WriteResult<TaskRow>.Done(updated);
        }, ct: ct, beforeCommit: beforeCommit);
}
