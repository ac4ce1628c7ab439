using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Events;

namespace TaskManager.Api.Tasks;

/// <summary>Filters of the task list; null means "any".</summary>
public sealed record TaskFilter(
    Guid? ProjectId, string[]? Statuses, string? Assignee, string? Label, string[]? Priorities,
    Guid? ParentId, bool ReadyOnly, string? Query, bool IncludeArchived);

/// <summary>What a write to an existing task came to.</summary>
public abstract record TaskWriteResult
{
    public sealed record Done(TaskRow Task) : TaskWriteResult;
    public sealed record NotFound : TaskWriteResult;
    public sealed record VersionMismatch(int CurrentVersion) : TaskWriteResult;
    public sealed record Rejected(string Field, string Detail) : TaskWriteResult;
    public sealed record Blocked(string[] Blockers) : TaskWriteResult;
}

/// <summary>SQL for tasks. Every write runs in one transaction with its history event.</summary>
public sealed class TaskStore(NpgsqlDataSource dataSource)
{
    // Room between appended tasks, so most moves find a midpoint with few digits.
    private const int PositionGap = 1024;

    private const string Select = """
        SELECT t.id, t.project_id, p.key, t.number, t.parent_id, t.title, t.description, t.status, t.priority,
               t.assignee, t.labels, t.due_date, t.archived_at, t.archived_by, t.created_at, t.created_by,
               t.updated_at, t.updated_by, t.version, t.position::text,
               ARRAY(SELECT bp.key || '-' || b.number
                     FROM task_dependencies d
                     JOIN tasks b ON b.id = d.blocker_id
                     JOIN projects bp ON bp.id = b.project_id
                     WHERE d.task_id = t.id AND b.status <> 'done' AND b.archived_at IS NULL
                     ORDER BY bp.key, b.number) AS open_blockers
        FROM tasks t
        JOIN projects p ON p.id = t.project_id
        """;

    private static TaskRow Read(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetInt32(3), r.IsDBNull(4) ? null : r.GetGuid(4),
        r.GetString(5), r.GetString(6), Enum.Parse<TaskState>(r.GetString(7), ignoreCase: true),
        Enum.Parse<TaskPriority>(r.GetString(8), ignoreCase: true), r.IsDBNull(9) ? null : r.GetString(9),
        r.GetFieldValue<string[]>(10), r.IsDBNull(11) ? null : r.GetFieldValue<DateOnly>(11),
        r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12), r.IsDBNull(13) ? null : r.GetString(13),
        r.GetFieldValue<DateTimeOffset>(14), r.GetString(15), r.GetFieldValue<DateTimeOffset>(16), r.GetString(17),
        r.GetInt32(18), r.GetString(19), r.GetFieldValue<string[]>(20));

    public async Task<TaskRow?> FindAsync(TaskReference reference, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await FindAsync(connection, null, reference, forUpdate: false, ct);
    }

    private static async Task<TaskRow?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, TaskReference reference, bool forUpdate, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            {Select}
            WHERE (@id::uuid IS NOT NULL AND t.id = @id) OR (p.key = @key AND t.number = @number)
            {(forUpdate ? "FOR UPDATE OF t" : "")}
            """, connection, transaction);
        command.Parameters.AddWithValue("id", NpgsqlDbType.Uuid, (object?)reference.Id ?? DBNull.Value);
        command.Parameters.AddWithValue("key", NpgsqlDbType.Text, (object?)reference.ProjectKey ?? DBNull.Value);
        command.Parameters.AddWithValue("number", reference.Number);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static async Task<TaskRow> ReReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken ct) =>
        (await FindAsync(connection, transaction, new TaskReference(id, null, 0), forUpdate: false, ct))!;

    /// <summary>Creates a task at the end of its status column; null when the project is archived.</summary>
    public async Task<TaskRow?> CreateAsync(Guid projectId, TaskChanges values, string actor, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // Taking the number locks the project row, so numbers are gap-free and unique under concurrency.
        await using var number = new NpgsqlCommand("""
            UPDATE projects SET next_task_number = next_task_number + 1
            WHERE id = @project_id AND archived_at IS NULL
            RETURNING next_task_number - 1
            """, connection, transaction);
        number.Parameters.AddWithValue("project_id", projectId);
        if (await number.ExecuteScalarAsync(ct) is not int taskNumber)
        {
            return null;
        }

        var id = Guid.CreateVersion7();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO tasks (id, project_id, number, parent_id, title, description, status, priority, assignee,
                               labels, due_date, position, created_by, updated_by)
            VALUES (@id, @project_id, @number, @parent_id, @title, @description, @status, @priority, @assignee,
                    @labels, @due_date,
                    COALESCE((SELECT max(position) FROM tasks WHERE project_id = @project_id AND status = @status), 0) + @gap,
                    @actor, @actor)
            """, connection, transaction);
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("project_id", projectId);
        insert.Parameters.AddWithValue("number", taskNumber);
        AddValues(insert, values);
        insert.Parameters.AddWithValue("gap", PositionGap);
        insert.Parameters.AddWithValue("actor", actor);
        await insert.ExecuteNonQueryAsync(ct);

        var row = await ReReadAsync(connection, transaction, id, ct);
        await EventLog.AppendAsync(connection, transaction, actor, EventKinds.TaskCreated, projectId, id, new JsonObject
        {
            ["ref"] = row.Ref,
            ["title"] = row.Title,
            ["status"] = EventLog.ToNode(row.Status),
            ["priority"] = EventLog.ToNode(row.Priority),
            ["assignee"] = row.Assignee,
        }, ct);
        await transaction.CommitAsync(ct);
        return row;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the current task under a row lock. A stale
    /// <paramref name="expectedVersion"/> changes nothing; a change that changes no field bumps no version.
    /// </summary>
    public Task<TaskWriteResult> UpdateAsync(
        TaskReference reference, int? expectedVersion, Func<TaskRow, TaskChanges> change, string actor, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, async (connection, transaction, current) =>
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
                return new TaskWriteResult.Done(current);
            }

            if (next.Status == TaskState.Doing && current.Status != TaskState.Doing && current.OpenBlockers.Length > 0)
            {
                return new TaskWriteResult.Blocked(current.OpenBlockers);
            }
            if (next.ParentId is { } parentId && parentId != current.ParentId
                && await ParentProblemAsync(connection, transaction, current, parentId, ct) is { } parentProblem)
            {
                return new TaskWriteResult.Rejected("parent", parentProblem);
            }

            await using var update = new NpgsqlCommand("""
                UPDATE tasks SET
                    title = @title, description = @description, status = @status, priority = @priority,
                    assignee = @assignee, labels = @labels, due_date = @due_date, parent_id = @parent_id,
                    position = CASE WHEN status = @status THEN position
                        ELSE COALESCE((SELECT max(position) FROM tasks WHERE project_id = @project_id AND status = @status), 0) + @gap END,
                    updated_at = now(), updated_by = @actor, version = version + 1
                WHERE id = @id
                """, connection, transaction);
            update.Parameters.AddWithValue("id", current.Id);
            update.Parameters.AddWithValue("project_id", current.ProjectId);
            AddValues(update, next);
            update.Parameters.AddWithValue("gap", PositionGap);
            update.Parameters.AddWithValue("actor", actor);
            await update.ExecuteNonQueryAsync(ct);

            await EventLog.AppendAsync(connection, transaction, actor, EventKinds.TaskUpdated, current.ProjectId, current.Id,
                new JsonObject { ["ref"] = current.Ref, ["changes"] = changes }, ct);
            return new TaskWriteResult.Done(await ReReadAsync(connection, transaction, current.Id, ct));
        }, ct);

    /// <summary>Archives or restores a task; doing it twice changes nothing the second time.</summary>
    public Task<TaskWriteResult> SetArchivedAsync(
        TaskReference reference, int? expectedVersion, bool archived, string actor, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, async (connection, transaction, current) =>
        {
            if (current.ArchivedAt is not null == archived)
            {
                return new TaskWriteResult.Done(current);
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

            await EventLog.AppendAsync(connection, transaction, actor, archived ? EventKinds.TaskArchived : EventKinds.TaskRestored,
                current.ProjectId, current.Id, new JsonObject { ["ref"] = current.Ref }, ct);
            return new TaskWriteResult.Done(await ReReadAsync(connection, transaction, current.Id, ct));
        }, ct);

    /// <summary>
    /// Runs <paramref name="write"/> on the task locked for update, in one transaction committed only when the write
    /// is done. A stale <paramref name="expectedVersion"/> stops it before anything changes.
    /// </summary>
    private async Task<TaskWriteResult> WriteAsync(
        TaskReference reference, int? expectedVersion,
        Func<NpgsqlConnection, NpgsqlTransaction, TaskRow, Task<TaskWriteResult>> write, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var current = await FindAsync(connection, transaction, reference, forUpdate: true, ct);
        if (current is null)
        {
            return new TaskWriteResult.NotFound();
        }
        if (expectedVersion is { } expected && expected != current.Version)
        {
            return new TaskWriteResult.VersionMismatch(current.Version);
        }
        var result = await write(connection, transaction, current);
        if (result is TaskWriteResult.Done)
        {
            await transaction.CommitAsync(ct);
        }
        return result;
    }

    /// <summary>Ordered by manual position (then id), which keeps a status column in its board order.</summary>
    public async Task<List<TaskRow>> ListAsync(TaskFilter filter, (string Position, Guid Id)? after, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            {Select}
            WHERE (@project_id::uuid IS NULL OR t.project_id = @project_id)
              AND (@statuses::text[] IS NULL OR t.status = ANY (@statuses))
              AND (@assignee::text IS NULL OR t.assignee = @assignee)
              AND (@label::text IS NULL OR t.labels @> ARRAY[@label])
              AND (@priorities::text[] IS NULL OR t.priority = ANY (@priorities))
              AND (@parent_id::uuid IS NULL OR t.parent_id = @parent_id)
              AND (@query::text IS NULL OR t.search @@ websearch_to_tsquery('simple', @query))
              AND (@include_archived OR t.archived_at IS NULL)
              AND (NOT @ready_only OR (t.status = 'todo' AND t.archived_at IS NULL AND NOT EXISTS (
                    SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id
                    WHERE d.task_id = t.id AND b.status <> 'done' AND b.archived_at IS NULL)))
              AND (@after_position::numeric IS NULL OR (t.position, t.id) > (@after_position::numeric, @after_id))
            ORDER BY t.position, t.id
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("project_id", NpgsqlDbType.Uuid, (object?)filter.ProjectId ?? DBNull.Value);
        command.Parameters.AddWithValue("statuses", NpgsqlDbType.Array | NpgsqlDbType.Text, (object?)filter.Statuses ?? DBNull.Value);
        command.Parameters.AddWithValue("assignee", NpgsqlDbType.Text, (object?)filter.Assignee ?? DBNull.Value);
        command.Parameters.AddWithValue("label", NpgsqlDbType.Text, (object?)filter.Label ?? DBNull.Value);
        command.Parameters.AddWithValue("priorities", NpgsqlDbType.Array | NpgsqlDbType.Text, (object?)filter.Priorities ?? DBNull.Value);
        command.Parameters.AddWithValue("parent_id", NpgsqlDbType.Uuid, (object?)filter.ParentId ?? DBNull.Value);
        command.Parameters.AddWithValue("query", NpgsqlDbType.Text, (object?)filter.Query ?? DBNull.Value);
        command.Parameters.AddWithValue("include_archived", filter.IncludeArchived);
        command.Parameters.AddWithValue("ready_only", filter.ReadyOnly);
        command.Parameters.AddWithValue("after_position", NpgsqlDbType.Text, (object?)after?.Position ?? DBNull.Value);
        command.Parameters.AddWithValue("after_id", NpgsqlDbType.Uuid, (object?)after?.Id ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit);
        var rows = new List<TaskRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(Read(reader));
        }
        return rows;
    }

    /// <summary>A parent must be another task of the same project that is not one of the task's own descendants.</summary>
    private static async Task<string?> ParentProblemAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TaskRow task, Guid parentId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""
            WITH RECURSIVE ancestors AS (
                SELECT id, parent_id, project_id FROM tasks WHERE id = @parent_id
                UNION
                SELECT t.id, t.parent_id, t.project_id FROM tasks t JOIN ancestors a ON t.id = a.parent_id)
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

    private static void AddValues(NpgsqlCommand command, TaskChanges values)
    {
        command.Parameters.AddWithValue("title", values.Title);
        command.Parameters.AddWithValue("description", values.Description);
        command.Parameters.AddWithValue("status", Naming.SnakeCase(values.Status));
        command.Parameters.AddWithValue("priority", Naming.SnakeCase(values.Priority));
        command.Parameters.AddWithValue("assignee", NpgsqlDbType.Text, (object?)values.Assignee ?? DBNull.Value);
        command.Parameters.AddWithValue("labels", values.Labels);
        command.Parameters.AddWithValue("due_date", NpgsqlDbType.Date, (object?)values.DueDate ?? DBNull.Value);
        command.Parameters.AddWithValue("parent_id", NpgsqlDbType.Uuid, (object?)values.ParentId ?? DBNull.Value);
    }
}
