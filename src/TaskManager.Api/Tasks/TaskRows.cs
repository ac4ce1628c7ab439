using System.Text.Json.Nodes;
using Npgsql;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;

namespace TaskManager.Api.Tasks;

/// <summary>
/// What every store of task rows shares (tasks, dependencies, claims, ordering): reading a task, locking it for a
/// write, reading it back in the write's batch, the sections writes enter, and the rules of a status change.
/// </summary>
internal static class TaskRows
{
    // Room between appended tasks, so most moves find a midpoint with few digits.
    public const int PositionGap = 1024;

    // A blocker stops blocking only when it is done (PRODUCT.md: "ready when every blocker is done").
    public const string OpenBlocker = "b.status <> 'done'";

    // Sections serialised across transactions (see LockedWrite.EnterAsync). Dependencies may cross projects, so one
    // section serialises every addition (a cycle can run through any project); parents stay within a project.
    public const string DependencySection = "task-dependencies";

    /// <summary>
    /// Serialises parent changes within one project (subtasks are in their parent's project), so that two cannot make
    /// a cycle between them. Taken after the task's row lock, before its column; nothing waits for a row while in it.
    /// </summary>
    public static string ParentSection(Guid projectId) => $"parents:{projectId}";

    public const string Select = $"""
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
               p.archived_at IS NOT NULL AS project_archived,
               t.lease_id, t.lease_holder, t.lease_seconds, t.lease_expires_at, t.lease_heartbeat_at,
               t.lease_expires_at <= now() AS lease_expired, t.lease_expired_holder, t.lease_expired_at
        FROM tasks t
        JOIN projects p ON p.id = t.project_id
        CROSS JOIN LATERAL (
            SELECT count(*)::int AS total, count(*) FILTER (WHERE s.status = 'done')::int AS done
            FROM tasks s WHERE s.parent_id = t.id AND s.archived_at IS NULL) subtasks
        """;

    public static TaskRow Read(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetInt32(3), r.IsDBNull(4) ? null : r.GetGuid(4),
        r.GetString(5), r.GetString(6), Enum.Parse<TaskState>(r.GetString(7), ignoreCase: true),
        Enum.Parse<TaskPriority>(r.GetString(8), ignoreCase: true), r.IsDBNull(9) ? null : r.GetString(9),
        r.GetFieldValue<string[]>(10), r.IsDBNull(11) ? null : r.GetFieldValue<DateOnly>(11),
        r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12), r.IsDBNull(13) ? null : r.GetString(13),
        r.GetFieldValue<DateTimeOffset>(14), r.GetString(15), r.GetFieldValue<DateTimeOffset>(16), r.GetString(17),
        r.GetInt32(18), r.GetString(19), r.GetFieldValue<string[]>(20), r.GetInt32(21), r.GetInt32(22), r.GetBoolean(23),
        r.IsDBNull(24) ? null : new TaskLease(r.GetGuid(24), r.GetString(25), r.IsDBNull(26) ? null : r.GetInt32(26),
            r.IsDBNull(27) ? null : r.GetFieldValue<DateTimeOffset>(27), r.IsDBNull(28) ? null : r.GetFieldValue<DateTimeOffset>(28),
            !r.IsDBNull(29) && r.GetBoolean(29)),
        r.IsDBNull(30) ? null : new ExpiredLease(r.GetString(30), r.GetFieldValue<DateTimeOffset>(31)));

    public static async Task<TaskRow?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, TaskReference reference, bool forUpdate, CancellationToken ct)
    {
        if (!forUpdate)
        {
            await using var command = new NpgsqlCommand($"""
                {Select}
                WHERE {Where(reference)}
                """, connection, transaction);
            AddReference(command.Parameters, reference);
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
    /// Locks the task (<see cref="LockedWrite"/>), refuses a lease that is not current (<paramref name="leaseId"/>, when
    /// the writer sent one) and a stale <paramref name="expectedVersion"/>, and runs <paramref name="write"/> on the
    /// current row; commits only a finished write.
    /// </summary>
    public static Task<WriteResult<TaskRow>> WriteAsync(
        NpgsqlDataSource dataSource, EventSignal signal, TaskReference reference, int? expectedVersion,
        Func<NpgsqlConnection, NpgsqlTransaction, TaskRow, Task<WriteResult<TaskRow>>> write, CancellationToken ct,
        string? exclusiveSection = null, BeforeCommit<TaskRow>? beforeCommit = null, Guid? leaseId = null) =>
        LockedWrite.RunAsync(dataSource, signal,
            (connection, transaction) => FindAsync(connection, transaction, reference, forUpdate: true, ct),
            row => row.Version, expectedVersion, write, ct, exclusiveSection, beforeCommit,
            refuse: leaseId is null ? null : row => Leases.LeaseRules.Stale(row, leaseId.Value));

    /// <summary>
    /// The section that serialises position changes within one status column (<see cref="LockedWrite.Enter"/>), so two
    /// writes into the same gap cannot take the same midpoint. Moves, status changes and claims enter it after the
    /// task's row lock; a create enters it before the project row lock (nothing holds a project row while waiting for
    /// a column). Nothing waits for a row lock while holding a column (the rebalance skips locked rows).
    /// </summary>
    public static string ColumnSection(Guid projectId, TaskState status) => $"column:{projectId}:{Naming.SnakeCase(status)}";

    /// <summary>The data of a task's <c>task.created</c> event: its values (the database adds its ref, once it is numbered).</summary>
    public static JsonObject CreatedData(TaskChanges values) => new()
    {
        ["title"] = values.Title,
        ["status"] = EventLog.ToNode(values.Status),
        ["priority"] = EventLog.ToNode(values.Priority),
        ["assignee"] = values.Assignee,
        ["labels"] = EventLog.ToNode(values.Labels),
        ["parentId"] = EventLog.ToNode(values.ParentId),
    };

    /// <summary>Reads the task again, as a batch's last statement.</summary>
    public static NpgsqlBatchCommand ReRead(Guid id) => new($"{Select}\nWHERE t.id = @id") { Parameters = { new("id", id) } };

    /// <summary>
    /// Runs a write's batch: sections entered, statements without rows, and last <see cref="ReRead"/>. Returns the
    /// task as it reads it, or null when there is none.
    /// </summary>
    public static async Task<TaskRow?> WriteAndReReadAsync(NpgsqlBatch batch, CancellationToken ct)
    {
        await using var reader = await batch.ExecuteReaderAsync(ct);
        for (var sections = LockedWrite.Sections(batch); sections > 0; sections--)
        {
            await reader.NextResultAsync(ct);
        }
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public static async Task<TaskRow> ReReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken ct) =>
        (await FindAsync(connection, transaction, new TaskReference(id, null, 0), forUpdate: false, ct))!;

    /// <summary>A task entering or leaving done: its event names the tasks it blocks (<see cref="EventLog.DependentsData"/>).</summary>
    public static string? Dependents(TaskState from, TaskState to) =>
        from != to && (from == TaskState.Done || to == TaskState.Done) ? EventLog.DependentsData : null;

    /// <summary>
    /// After <paramref name="blockerId"/> stopped blocking (it became done, or a dependency on it was removed): a
    /// <c>task.ready</c> event for each task it blocked that is todo, not archived and has no other open blocker, so
    /// agents and boards hear at once that it can be claimed. The tasks it blocks are locked first, in a statement of
    /// their own: two blockers finishing at once cannot each see the other still open (the second waits for the first
    /// and then sees it done), so the last one always announces the task. <paramref name="onlyTask"/>: only that task
    /// (the one whose dependency was removed).
    /// </summary>
    public static IEnumerable<NpgsqlBatchCommand> ReadyEvents(string actor, Guid blockerId, string blockerRef, Guid? onlyTask = null)
    {
        var only = onlyTask is null ? "" : " AND d.task_id = @only_task";
        yield return LockedWrite.LockRows($"""
            SELECT t.id FROM tasks t JOIN task_dependencies d ON d.task_id = t.id
            WHERE d.blocker_id = @blocker_id{only}
            ORDER BY t.id
            FOR NO KEY UPDATE OF t
            """).With(blockerId, onlyTask);
        yield return new NpgsqlBatchCommand($"""
            INSERT INTO task_events (actor, kind, project_id, task_id, data)
            SELECT @actor, '{EventKinds.TaskReady}', t.project_id, t.id,
                   jsonb_build_object('ref', p.key || '-' || t.number, 'unblockedBy', @blocker_ref::text)
            FROM task_dependencies d JOIN tasks t ON t.id = d.task_id JOIN projects p ON p.id = t.project_id
            WHERE d.blocker_id = @blocker_id{only} AND t.status = 'todo' AND t.archived_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM task_dependencies o JOIN tasks b ON b.id = o.blocker_id
                              WHERE o.task_id = t.id AND {OpenBlocker})
            ORDER BY t.id
            """)
        {
            Parameters = { new("actor", actor), new("blocker_ref", blockerRef) },
        }.With(blockerId, onlyTask);
    }

    /// <summary>Adds <see cref="ReadyEvents"/> to a write's batch when it moves <paramref name="current"/> into done.</summary>
    public static void AddReadyEvents(NpgsqlBatch batch, string actor, TaskRow current, TaskState target)
    {
        if (target == TaskState.Done && current.Status != TaskState.Done)
        {
            foreach (var command in ReadyEvents(actor, current.Id, current.Ref))
            {
                batch.BatchCommands.Add(command);
            }
        }
    }

    private static NpgsqlBatchCommand With(this NpgsqlBatchCommand command, Guid blockerId, Guid? onlyTask)
    {
        command.Parameters.AddWithValue("blocker_id", blockerId);
        if (onlyTask is { } task)
        {
            command.Parameters.AddWithValue("only_task", task);
        }
        return command;
    }

    /// <summary>
    /// A task with open blockers may not progress: entering doing, review or done is refused, naming the blockers.
    /// Going back to todo is always allowed.
    /// </summary>
    public static WriteResult<TaskRow>.Conflict? BlockedFrom(TaskRow current, TaskState target) =>
        target != TaskState.Todo && target != current.Status && current.OpenBlockers.Length > 0
            ? new WriteResult<TaskRow>.Conflict(
                $"{current.Ref} is blocked by {string.Join(", ", current.OpenBlockers)}, which are not done. Finish them first or remove the dependency.",
                new Dictionary<string, object?> { ["blockedBy"] = current.OpenBlockers })
            : null;
}
