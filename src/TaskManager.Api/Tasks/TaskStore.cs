using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;

namespace TaskManager.Api.Tasks;

/// <summary>Filters of the task list; null means "any".</summary>
public sealed record TaskFilter(
    Guid? ProjectId, string[]? Statuses, string? Assignee, string? Label, string[]? Priorities,
    Guid? ParentId, bool ReadyOnly, string? Query, bool IncludeArchived, string? HeldBy = null, bool? LeaseExpired = null);

/// <summary>
/// SQL for tasks: find, create, change, archive and list. Every write runs in one transaction with its history event.
/// Blockers, claiming and ordering have stores of their own; all read and lock rows through <see cref="TaskRows"/>.
/// </summary>
public sealed class TaskStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    public async Task<TaskRow?> FindAsync(TaskReference reference, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await TaskRows.FindAsync(connection, null, reference, forUpdate: false, ct);
    }

    /// <summary>Creates a task at the end of its status column; null when the project is archived.</summary>
    public async Task<TaskRow?> CreateAsync(Guid projectId, TaskChanges values, string actor, BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var id = Guid.CreateVersion7();
        // Taking the number locks the project row, so numbers are gap-free and unique under concurrency; the column is
        // entered first, in a statement of its own, so that the end of the column is read after whoever moved a task
        // into it has committed.
        var insert = new NpgsqlBatchCommand("""
            WITH number AS (
                UPDATE projects SET next_task_number = next_task_number + 1
                WHERE id = @project_id AND archived_at IS NULL
                RETURNING next_task_number - 1 AS number)
            INSERT INTO tasks (id, project_id, number, parent_id, title, description, status, priority, assignee,
                               labels, due_date, position, created_by, updated_by)
            SELECT @id, @project_id, number.number, @parent_id, @title, @description, @status, @priority, @assignee,
                   @labels, @due_date,
                   COALESCE((SELECT max(position) FROM tasks WHERE project_id = @project_id AND status = @status), 0) + @gap,
                   @actor, @actor
            FROM number
            """);
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("project_id", projectId);
        AddValues(insert.Parameters, values);
        insert.Parameters.AddWithValue("gap", TaskRows.PositionGap);
        insert.Parameters.AddWithValue("actor", actor);
        var created = EventLog.Append(actor, EventKinds.TaskCreated, projectId, id, TaskRows.CreatedData(values),
        extraData: "(SELECT jsonb_build_object('ref', p.key || '-' || t.number) FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = @task_id)",
        onlyIf: "EXISTS (SELECT 1 FROM tasks WHERE id = @task_id)");
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands = { LockedWrite.Enter(TaskRows.ColumnSection(projectId, values.Status)), insert, created, TaskRows.ReRead(id) },
        };
        if (await TaskRows.WriteAndReReadAsync(batch, ct) is not { } row)
        {
            return null;
        }
        if (beforeCommit is not null)
        {
            await beforeCommit(transaction, row, ct);
        }
        await transaction.CommitAsync(signal, ct);
        return row;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the current task. A change that changes no field bumps no version.
    /// A status change moves the task to the end of its new column.
    /// </summary>
    public Task<WriteResult<TaskRow>> UpdateAsync(
        TaskReference reference, int? expectedVersion, Func<TaskRow, TaskChanges> change, string actor,
        BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct, Guid? leaseId = null) =>
        TaskRows.WriteAsync(dataSource, signal, reference, expectedVersion, write: async (connection, transaction, current) =>
        {
            var next = change(current);
            var changes = new JsonObject();
            changes.Change("title", current.Title, next.Title);
            changes.Change("description", current.Description, next.Description);
            changes.Change("status", current.Status, next.Status);
            changes.Change("priority", current.Priority, next.Priority);
            changes.Change("assignee", current.Assignee, next.Assignee);
            changes.ChangeSet("labels", current.Labels, next.Labels);
            changes.Change("dueDate", current.DueDate, next.DueDate);
            changes.Change("parentId", current.ParentId, next.ParentId);
            if (changes.Count == 0)
            {
                return new WriteResult<TaskRow>.Done(current);
            }
            if (TaskRows.BlockedFrom(current, next.Status) is { } blocked)
            {
                return blocked;
            }
            if (next.ParentId is { } parentId && parentId != current.ParentId)
            {
                // The check reads the tree after every earlier parent change of the project has committed.
                await LockedWrite.EnterAsync(connection, transaction, TaskRows.ParentSection(current.ProjectId), ct);
                if (await ParentProblemAsync(connection, transaction, current, parentId, ct) is { } parentProblem)
                {
                    return new WriteResult<TaskRow>.Invalid("parent", parentProblem);
                }
            }

            // One round trip: enter the new column (a statement of its own, so the end of the column is read after
            // it), update, append the event, read the task back.
            await using var batch = new NpgsqlBatch(connection, transaction);
            if (next.Status != current.Status)
            {
                batch.BatchCommands.Add(LockedWrite.Enter(TaskRows.ColumnSection(current.ProjectId, next.Status)));
            }
            var update = new NpgsqlBatchCommand("""
                UPDATE tasks SET
                    title = @title, description = @description, status = @status, priority = @priority,
                    assignee = @assignee, labels = @labels, due_date = @due_date, parent_id = @parent_id,
                    position = CASE WHEN status = @status THEN position
                        ELSE COALESCE((SELECT max(position) FROM tasks WHERE project_id = @project_id AND status = @status), 0) + @gap END,
                    updated_at = now(), updated_by = @actor, version = version + 1
                WHERE id = @id
                """);
            update.Parameters.AddWithValue("id", current.Id);
            update.Parameters.AddWithValue("project_id", current.ProjectId);
            AddValues(update.Parameters, next);
            update.Parameters.AddWithValue("gap", TaskRows.PositionGap);
            update.Parameters.AddWithValue("actor", actor);
            batch.BatchCommands.Add(update);
            batch.BatchCommands.Add(EventLog.Append(actor, EventKinds.TaskUpdated, current.ProjectId, current.Id,
                new JsonObject { ["ref"] = current.Ref, ["changes"] = changes }, TaskRows.Dependents(current.Status, next.Status)));
            TaskRows.AddReadyEvents(batch, actor, current, next.Status);
            batch.BatchCommands.Add(TaskRows.ReRead(current.Id));
            return new WriteResult<TaskRow>.Done((await TaskRows.WriteAndReReadAsync(batch, ct))!);
        }, ct: ct, beforeCommit: beforeCommit, leaseId: leaseId);

    /// <summary>Archives or restores a task; doing it twice changes nothing the second time.</summary>
    public Task<WriteResult<TaskRow>> SetArchivedAsync(
        TaskReference reference, int? expectedVersion, bool archived, string actor, BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct,
        Guid? leaseId = null) =>
        TaskRows.WriteAsync(dataSource, signal, reference, expectedVersion, async (connection, transaction, current) =>
        {
            if (current.ArchivedAt is not null == archived)
            {
                return new WriteResult<TaskRow>.Done(current);
            }

            await using var update = new NpgsqlCommand("""
                UPDATE tasks SET
                    archived_at = CASE WHEN @archived THEN now() END,
                    archived_by = CASE WHEN @archived THEN @actor END,
                    updated_at = now(), updated_by = @actor, version = version + 1
                WHERE id = @id
                """, connection, transaction);
            update.Parameters.AddWithValue("id", current.Id);
            update.Parameters.AddWithValue("archived", archived);
            update.Parameters.AddWithValue("actor", actor);
            await update.ExecuteNonQueryAsync(ct);

            var updated = await TaskRows.ReReadAsync(connection, transaction, current.Id, ct);
            await EventLog.AppendAsync(connection, transaction, actor, archived ? EventKinds.TaskArchived : EventKinds.TaskRestored,
                current.ProjectId, current.Id, new JsonObject { ["ref"] = current.Ref }, ct);
            return new WriteResult<TaskRow>.Done(updated);
        }, ct: ct, beforeCommit: beforeCommit, leaseId: leaseId);

    /// <summary>Ordered by manual position (then id), which keeps a status column in its board order.</summary>
    public async Task<List<TaskRow>> ListAsync(TaskFilter filter, (string Position, Guid Id)? after, int limit, CancellationToken ct)
    {
        // Only the conditions that apply, so that each combination of filters has a plan of its own: one column of one
        // project walks (project_id, status, position, id) in order and stops after the page.
        await using var command = dataSource.CreateCommand();
        var where = new List<string>();
        void Add(string condition, params (string Name, object Value)[] parameters)
        {
            where.Add(condition);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }
        }
        if (filter.ProjectId is { } projectId)
        {
            Add("t.project_id = @project_id", ("project_id", projectId));
        }
        if (filter.Statuses is [var status])
        {
            Add("t.status = @status", ("status", status));
        }
        else if (filter.Statuses is not null)
        {
            Add("t.status = ANY (@statuses)", ("statuses", filter.Statuses));
        }
        if (filter.Assignee is not null)
        {
            Add("t.assignee = @assignee", ("assignee", filter.Assignee));
        }
        if (filter.Label is not null)
        {
            Add("t.labels @> ARRAY[@label]", ("label", filter.Label));
        }
        if (filter.Priorities is not null)
        {
            Add("t.priority = ANY (@priorities)", ("priorities", filter.Priorities));
        }
        if (filter.ParentId is { } parentId)
        {
            Add("t.parent_id = @parent_id", ("parent_id", parentId));
        }
        if (filter.Query is not null)
        {
            Add("t.search @@ websearch_to_tsquery('simple', @query)", ("query", filter.Query));
        }
        if (!filter.IncludeArchived)
        {
            Add("t.archived_at IS NULL AND p.archived_at IS NULL");
        }
        if (filter.HeldBy is not null)
        {
            Add("t.lease_holder = @held_by", ("held_by", filter.HeldBy));
        }
        if (filter.LeaseExpired is { } leaseExpired)
        {
            // Lost to an expiry and not claimed since (or run out and not yet swept).
            Add(leaseExpired
                ? "(t.lease_expired_holder IS NOT NULL OR t.lease_expires_at <= now())"
                : "(t.lease_expired_holder IS NULL AND (t.lease_expires_at IS NULL OR t.lease_expires_at > now()))");
        }
        if (filter.ReadyOnly)
        {
            Add($"""
                t.status = 'todo' AND t.archived_at IS NULL AND p.archived_at IS NULL AND NOT EXISTS (
                    SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id
                    WHERE d.task_id = t.id AND {TaskRows.OpenBlocker})
                """);
        }
        if (after is { } a)
        {
            Add("(t.position, t.id) > (@after_position::numeric, @after_id)", ("after_position", a.Position), ("after_id", a.Id));
        }
        command.CommandText = $"""
            {TaskRows.Select}
            {(where.Count > 0 ? "WHERE " + string.Join("\n  AND ", where) : "")}
            ORDER BY t.position, t.id
            LIMIT @limit
            """;
        command.Parameters.AddWithValue("limit", limit);
        return await command.ReadAllAsync(TaskRows.Read, ct);
    }

    /// <summary>A parent must be another task of the same project that is not one of the task's own descendants.</summary>
    private static async Task<string?> ParentProblemAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TaskRow task, Guid parentId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""
            WITH RECURSIVE ancestors AS (
                SELECT id, parent_id FROM tasks WHERE id = @parent_id
                UNION
                SELECT t.id, t.parent_id FROM tasks t JOIN ancestors a ON t.id = a.parent_id)
            SELECT (SELECT project_id FROM tasks WHERE id = @parent_id) AS project_id,
                   EXISTS (SELECT 1 FROM ancestors WHERE id = @task_id) AS cycle
            """, connection, transaction);
        command.Parameters.AddWithValue("parent_id", parentId);
        command.Parameters.AddWithValue("task_id", task.Id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        if (reader.IsDBNull(0))
        {
            return "The parent task does not exist.";
        }
        if (reader.GetGuid(0) != task.ProjectId)
        {
            return "A subtask must be in the same project as its parent.";
        }
        return reader.GetBoolean(1)
            ? $"{task.Ref} cannot be a subtask of its own subtask (or of itself)."
            : null;
    }

    private static void AddValues(NpgsqlParameterCollection parameters, TaskChanges values)
    {
        parameters.AddWithValue("title", values.Title);
        parameters.AddWithValue("description", values.Description);
        parameters.AddWithValue("status", Naming.SnakeCase(values.Status));
        parameters.AddWithValue("priority", Naming.SnakeCase(values.Priority));
        parameters.AddWithValue("assignee", NpgsqlDbType.Text, (object?)values.Assignee ?? DBNull.Value);
        parameters.AddWithValue("labels", values.Labels);
        parameters.AddWithValue("due_date", NpgsqlDbType.Date, (object?)values.DueDate ?? DBNull.Value);
        parameters.AddWithValue("parent_id", NpgsqlDbType.Uuid, (object?)values.ParentId ?? DBNull.Value);
    }
}
