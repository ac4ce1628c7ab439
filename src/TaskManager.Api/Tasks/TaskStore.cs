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
    Guid? ParentId, bool ReadyOnly, string? Query, bool IncludeArchived);

/// <summary>SQL for tasks. Every write runs in one transaction with its history event.</summary>
public sealed class TaskStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    // Room between appended tasks, so most moves find a midpoint with few digits.
    private const int PositionGap = 1024;
    private const int MaxPositionScale = 100;

    // A blocker stops blocking only when it is done (PRODUCT.md: "ready when every blocker is done").
    private const string OpenBlocker = "b.status <> 'done'";

    // Sections serialised across transactions (see LockedWrite.EnterAsync).
    private const string TreeSection = "task-tree";

    private const string Select = $"""
        SELECT t.id, t.project_id, p.key, t.number, t.parent_id, t.title, t.description, t.status, t.priority,
               t.assignee, t.labels, t.due_date, t.archived_at, t.archived_by, t.created_at, t.created_by,
               t.updated_at, t.updated_by, t.version, t.position::text,
               ARRAY(SELECT bp.key || '-' || b.number
                     FROM task_dependencies d
                     JOIN tasks b ON b.id = d.blocker_id
                     JOIN projects bp ON bp.id = b.project_id
                     WHERE d.task_id = t.id AND {OpenBlocker}
                     ORDER BY bp.key, b.number) AS open_blockers,
               subtasks.total, subtasks.done,
               p.archived_at IS NOT NULL AS project_archived
        FROM tasks t
        JOIN projects p ON p.id = t.project_id
        CROSS JOIN LATERAL (
            SELECT count(*)::int AS total, count(*) FILTER (WHERE s.status = 'done')::int AS done
            FROM tasks s WHERE s.parent_id = t.id AND s.archived_at IS NULL) subtasks
        """;

    private static TaskRow Read(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetInt32(3), r.IsDBNull(4) ? null : r.GetGuid(4),
        r.GetString(5), r.GetString(6), Enum.Parse<TaskState>(r.GetString(7), ignoreCase: true),
        Enum.Parse<TaskPriority>(r.GetString(8), ignoreCase: true), r.IsDBNull(9) ? null : r.GetString(9),
        r.GetFieldValue<string[]>(10), r.IsDBNull(11) ? null : r.GetFieldValue<DateOnly>(11),
        r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12), r.IsDBNull(13) ? null : r.GetString(13),
        r.GetFieldValue<DateTimeOffset>(14), r.GetString(15), r.GetFieldValue<DateTimeOffset>(16), r.GetString(17),
        r.GetInt32(18), r.GetString(19), r.GetFieldValue<string[]>(20), r.GetInt32(21), r.GetInt32(22), r.GetBoolean(23));

    public async Task<TaskRow?> FindAsync(TaskReference reference, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await FindAsync(connection, null, reference, forUpdate: false, ct);
    }

    private static async Task<TaskRow?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, TaskReference reference, bool forUpdate, CancellationToken ct)
    {
        if (!forUpdate)
        {
            await using var command = new NpgsqlCommand($"""
                {Select}
                WHERE {Where(reference)}
                """, connection, transaction);
            AddReference(command, reference);
            return await command.ReadFirstOrDefaultAsync(Read, ct);
        }

        // Lock first, then read in a statement of its own (one round trip for both): a statement that waited for the
        // lock still sees its old snapshot in subqueries (such as open blockers), the next statement sees what the
        // other writer committed.
        var lockRow = new NpgsqlBatchCommand($"""
            SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id
            WHERE {Where(reference)}
            FOR NO KEY UPDATE OF t
            """);
        var read = new NpgsqlBatchCommand($"""
            {Select}
            WHERE {Where(reference)}
            """);
        AddReference(lockRow.Parameters, reference);
        AddReference(read.Parameters, reference);
        await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { lockRow, read } };
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        await reader.NextResultAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    // By id or by reference: two statements, each with one plan on its own index.
    private static string Where(TaskReference reference) =>
        reference.Id is not null ? "t.id = @id" : "p.key = @key AND t.number = @number";

    private static void AddReference(NpgsqlCommand command, TaskReference reference) => AddReference(command.Parameters, reference);

    private static void AddReference(NpgsqlParameterCollection parameters, TaskReference reference)
    {
        if (reference.Id is { } id)
        {
            parameters.AddWithValue("id", id);
        }
        else
        {
            parameters.AddWithValue("key", reference.ProjectKey!);
            parameters.AddWithValue("number", reference.Number);
        }
    }

    /// <summary>
    /// Serialises position changes within one status column, so two moves into the same gap cannot take the same
    /// midpoint. Taken after the moved task's row lock, and by a create before the project row lock (nothing holds a
    /// project row while waiting for a column).
    /// </summary>
    private static Task EnterColumnAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid projectId, TaskState status, CancellationToken ct) =>
        LockedWrite.EnterAsync(connection, transaction, ColumnSection(projectId, status), ct);

    private static string ColumnSection(Guid projectId, TaskState status) => $"column:{projectId}:{Naming.SnakeCase(status)}";

    /// <summary>Reads the task again, as a batch's last statement.</summary>
    private static NpgsqlBatchCommand ReRead(Guid id) => new($"{Select}\nWHERE t.id = @id") { Parameters = { new("id", id) } };

    /// <summary>
    /// Runs a write's batch: sections entered, statements without rows, and last <see cref="ReRead"/>. Returns the
    /// task as it reads it, or null when there is none.
    /// </summary>
    private static async Task<TaskRow?> WriteAndReReadAsync(NpgsqlBatch batch, CancellationToken ct)
    {
        await using var reader = await batch.ExecuteReaderAsync(ct);
        for (var sections = LockedWrite.Sections(batch); sections > 0; sections--)
        {
            await reader.NextResultAsync(ct);
        }
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static async Task<TaskRow> ReReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken ct) =>
        (await FindAsync(connection, transaction, new TaskReference(id, null, 0), forUpdate: false, ct))!;

    /// <summary>Creates a task at the end of its status column; null when the project is archived.</summary>
    public async Task<TaskRow?> CreateAsync(Guid projectId, TaskChanges values, string actor, CancellationToken ct)
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
        insert.Parameters.AddWithValue("gap", PositionGap);
        insert.Parameters.AddWithValue("actor", actor);
        var created = EventLog.Append(actor, EventKinds.TaskCreated, projectId, id, new JsonObject
        {
            ["title"] = values.Title,
            ["status"] = EventLog.ToNode(values.Status),
            ["priority"] = EventLog.ToNode(values.Priority),
            ["assignee"] = values.Assignee,
            ["labels"] = EventLog.ToNode(values.Labels),
            ["parentId"] = EventLog.ToNode(values.ParentId),
        },
        extraData: "(SELECT jsonb_build_object('ref', p.key || '-' || t.number) FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = @task_id)",
        onlyIf: "EXISTS (SELECT 1 FROM tasks WHERE id = @task_id)");
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands = { LockedWrite.Enter(ColumnSection(projectId, values.Status)), insert, created, ReRead(id) },
        };
        if (await WriteAndReReadAsync(batch, ct) is not { } row)
        {
            return null;
        }
        await transaction.CommitAsync(signal, ct);
        return row;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the current task. A change that changes no field bumps no version.
    /// A status change moves the task to the end of its new column.
    /// </summary>
    public Task<WriteResult<TaskRow>> UpdateAsync(
        TaskReference reference, int? expectedVersion, Func<TaskRow, TaskChanges> change, bool mayChangeParent, string actor, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, exclusiveSection: mayChangeParent ? TreeSection : null, write: async (connection, transaction, current) =>
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
            if (BlockedFrom(current, next.Status) is { } blocked)
            {
                return blocked;
            }
            if (next.ParentId is { } parentId && parentId != current.ParentId
                && await ParentProblemAsync(connection, transaction, current, parentId, ct) is { } parentProblem)
            {
                return new WriteResult<TaskRow>.Invalid("parent", parentProblem);
            }

            // One round trip: enter the new column (a statement of its own, so the end of the column is read after
            // it), update, append the event, read the task back.
            await using var batch = new NpgsqlBatch(connection, transaction);
            if (next.Status != current.Status)
            {
                batch.BatchCommands.Add(LockedWrite.Enter(ColumnSection(current.ProjectId, next.Status)));
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
            update.Parameters.AddWithValue("gap", PositionGap);
            update.Parameters.AddWithValue("actor", actor);
            batch.BatchCommands.Add(update);
            batch.BatchCommands.Add(EventLog.Append(actor, EventKinds.TaskUpdated, current.ProjectId, current.Id,
                new JsonObject { ["ref"] = current.Ref, ["changes"] = changes }, Dependents(current.Status, next.Status)));
            batch.BatchCommands.Add(ReRead(current.Id));
            return new WriteResult<TaskRow>.Done((await WriteAndReReadAsync(batch, ct))!);
        }, ct: ct);

    /// <summary>
    /// Moves a task into <paramref name="status"/>'s column, between <paramref name="anchor"/> and its neighbour on the
    /// chosen side (the midpoint of their positions, which numeric keeps exact), or to the end of the column.
    /// No other task's position changes.
    /// </summary>
    public Task<WriteResult<TaskRow>> MoveAsync(
        TaskReference reference, int? expectedVersion, TaskState? status, (TaskReference Task, bool After, string Field)? anchor,
        string actor, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, async (connection, transaction, current) =>
        {
            var target = status ?? current.Status;
            if (BlockedFrom(current, target) is { } blocked)
            {
                return blocked;
            }
            TaskRow? neighbour = null;
            if (anchor is { } a)
            {
                neighbour = await FindAsync(connection, transaction, a.Task, forUpdate: false, ct);
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

            await EnterColumnAsync(connection, transaction, current.ProjectId, target, ct);
            await using var move = new NpgsqlCommand("""
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
                """, connection, transaction);
            move.Parameters.AddWithValue("id", current.Id);
            move.Parameters.AddWithValue("project_id", current.ProjectId);
            move.Parameters.AddWithValue("status", Naming.SnakeCase(target));
            move.Parameters.AddWithValue("anchor_id", NpgsqlDbType.Uuid, (object?)neighbour?.Id ?? DBNull.Value);
            move.Parameters.AddWithValue("after", anchor?.After ?? true);
            move.Parameters.AddWithValue("gap", PositionGap);
            move.Parameters.AddWithValue("actor", actor);
            await move.ExecuteNonQueryAsync(ct);
            var rebalanced = await RebalanceIfDeepAsync(connection, transaction, current.ProjectId, target, ct);

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
                    EventLog.Append(actor, EventKinds.TaskMoved, current.ProjectId, current.Id, data, Dependents(current.Status, target)),
                    ReRead(current.Id),
                },
            };
            return new WriteResult<TaskRow>.Done((await WriteAndReReadAsync(batch, ct))!);
        }, ct);

    /// <summary>Archives or restores a task; doing it twice changes nothing the second time.</summary>
    public Task<WriteResult<TaskRow>> SetArchivedAsync(
        TaskReference reference, int? expectedVersion, bool archived, string actor, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, async (connection, transaction, current) =>
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

            var updated = await ReReadAsync(connection, transaction, current.Id, ct);
            await EventLog.AppendAsync(connection, transaction, actor, archived ? EventKinds.TaskArchived : EventKinds.TaskRestored,
                current.ProjectId, current.Id, new JsonObject { ["ref"] = current.Ref }, ct);
            return new WriteResult<TaskRow>.Done(updated);
        }, ct);

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
                                  WHERE d.task_id = t.id AND {OpenBlocker})
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
        claim.Parameters.AddWithValue("gap", PositionGap);
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

        var row = await ReReadAsync(connection, transaction, id, ct);
        var changes = new JsonObject();
        changes.Change("status", TaskState.Todo, TaskState.Doing);
        changes.Change("assignee", previousAssignee, assignee);
        await EventLog.AppendAsync(connection, transaction, actor, EventKinds.TaskClaimed, row.ProjectId, row.Id,
            new JsonObject { ["ref"] = row.Ref, ["changes"] = changes }, ct);
        await transaction.CommitAsync(signal, ct);
        return row;
    }

    /// <summary>Every task blocking <paramref name="taskId"/>, open or not, in reference order.</summary>
    public async Task<List<TaskRow>> ListBlockersAsync(Guid taskId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            {Select}
            WHERE t.id IN (SELECT blocker_id FROM task_dependencies WHERE task_id = @id)
            ORDER BY p.key, t.number
            """);
        command.Parameters.AddWithValue("id", taskId);
        return await command.ReadAllAsync(Read, ct);
    }

    /// <summary>Makes <paramref name="blocker"/> block the task, unless that closes a cycle. Adding it twice is a no-op.</summary>
    public Task<WriteResult<TaskRow>> AddBlockerAsync(
        TaskReference reference, int? expectedVersion, TaskReference blocker, string actor, CancellationToken ct) =>
        // One dependency change at a time, so that two concurrent additions cannot close a cycle between them.
        WriteAsync(reference, expectedVersion, exclusiveSection: TreeSection, write: async (connection, transaction, current) =>
        {
            var blocking = await FindAsync(connection, transaction, blocker, forUpdate: false, ct);
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
            var updated = await ReReadAsync(connection, transaction, current.Id, ct);
            await EventLog.AppendAsync(connection, transaction, actor, EventKinds.DependencyAdded, current.ProjectId, current.Id,
                new JsonObject { ["ref"] = current.Ref, ["blocker"] = blocking.Ref }, ct);
            return new WriteResult<TaskRow>.Done(updated);
        }, ct: ct);

    /// <summary>Stops <paramref name="blocker"/> blocking the task; removing a dependency that isn't there is a no-op.</summary>
    public Task<WriteResult<TaskRow>> RemoveBlockerAsync(
        TaskReference reference, int? expectedVersion, TaskReference blocker, string actor, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, async (connection, transaction, current) =>
        {
            var blocking = await FindAsync(connection, transaction, blocker, forUpdate: false, ct);
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
            var updated = await ReReadAsync(connection, transaction, current.Id, ct);
            await EventLog.AppendAsync(connection, transaction, actor, EventKinds.DependencyRemoved, current.ProjectId, current.Id,
                new JsonObject { ["ref"] = current.Ref, ["blocker"] = blocking.Ref }, ct);
            return new WriteResult<TaskRow>.Done(updated);
        }, ct);

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
        if (filter.ReadyOnly)
        {
            Add($"""
                t.status = 'todo' AND t.archived_at IS NULL AND p.archived_at IS NULL AND NOT EXISTS (
                    SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id
                    WHERE d.task_id = t.id AND {OpenBlocker})
                """);
        }
        if (after is { } a)
        {
            Add("(t.position, t.id) > (@after_position::numeric, @after_id)", ("after_position", a.Position), ("after_id", a.Id));
        }
        command.CommandText = $"""
            {Select}
            {(where.Count > 0 ? "WHERE " + string.Join("\n  AND ", where) : "")}
            ORDER BY t.position, t.id
            LIMIT @limit
            """;
        command.Parameters.AddWithValue("limit", limit);
        return await command.ReadAllAsync(Read, ct);
    }

    private Task<WriteResult<TaskRow>> WriteAsync(
        TaskReference reference, int? expectedVersion,
        Func<NpgsqlConnection, NpgsqlTransaction, TaskRow, Task<WriteResult<TaskRow>>> write, CancellationToken ct,
        string? exclusiveSection = null) =>
        LockedWrite.RunAsync(dataSource, signal,
            (connection, transaction) => FindAsync(connection, transaction, reference, forUpdate: true, ct),
            row => row.Version, expectedVersion, write, ct, exclusiveSection);

    /// <summary>
    /// Each move into the same gap adds a decimal digit to the midpoint. Past <see cref="MaxPositionScale"/> digits
    /// the column is renumbered once (positions only: no version, no history), keeping positions short.
    /// </summary>
    /// <returns>Whether the column was renumbered.</returns>
    private static async Task<bool> RebalanceIfDeepAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid projectId, TaskState status, CancellationToken ct)
    {
        await using var rebalance = new NpgsqlCommand("""
            UPDATE tasks SET position = ranked.n * @gap
            FROM (SELECT id, row_number() OVER (ORDER BY position, id) AS n
                  FROM tasks WHERE project_id = @project_id AND status = @status) ranked
            WHERE tasks.id = ranked.id
              AND EXISTS (SELECT 1 FROM tasks WHERE project_id = @project_id AND status = @status AND scale(position) > @max_scale)
            """, connection, transaction);
        rebalance.Parameters.AddWithValue("project_id", projectId);
        rebalance.Parameters.AddWithValue("status", Naming.SnakeCase(status));
        rebalance.Parameters.AddWithValue("gap", PositionGap);
        rebalance.Parameters.AddWithValue("max_scale", MaxPositionScale);
        return await rebalance.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>A task entering or leaving done: its event names the tasks it blocks (<see cref="EventLog.DependentsData"/>).</summary>
    private static string? Dependents(TaskState from, TaskState to) =>
        from != to && (from == TaskState.Done || to == TaskState.Done) ? EventLog.DependentsData : null;

    /// <summary>
    /// A task with open blockers may not progress: entering doing, review or done is refused, naming the blockers.
    /// Going back to todo is always allowed.
    /// </summary>
    private static WriteResult<TaskRow>.Conflict? BlockedFrom(TaskRow current, TaskState target) =>
        target != TaskState.Todo && target != current.Status && current.OpenBlockers.Length > 0
            ? new WriteResult<TaskRow>.Conflict(
                $"{current.Ref} is blocked by {string.Join(", ", current.OpenBlockers)}, which are not done. Finish them first or remove the dependency.",
                new Dictionary<string, object?> { ["blockedBy"] = current.OpenBlockers })
            : null;

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
