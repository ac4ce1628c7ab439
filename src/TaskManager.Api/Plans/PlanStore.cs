using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Plans;

/// <summary>SQL for plans: many tasks with their subtasks and blocked-by edges, written in one transaction and one round trip.</summary>
public sealed class PlanStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    /// <summary>The ids of the existing tasks among <paramref name="references"/>; unknown ones are left out.</summary>
    public async Task<Dictionary<TaskReference, Guid>> FindTasksAsync(TaskReference[] references, CancellationToken ct)
    {
        var found = new Dictionary<TaskReference, Guid>();
        if (references.Length == 0)
        {
            return found;
        }
        // By id or by key and number: one arm on each index.
        await using var command = dataSource.CreateCommand("""
            SELECT t.id, p.key, t.number FROM tasks t JOIN projects p ON p.id = t.project_id
            WHERE t.id = ANY (@ids)
            UNION
            SELECT t.id, p.key, t.number
            FROM unnest(@keys::text[], @numbers::integer[]) AS r(key, number)
            JOIN projects p ON p.key = r.key
            JOIN tasks t ON t.project_id = p.id AND t.number = r.number
            """);
        command.Parameters.AddWithValue("ids", references.Where(r => r.Id is not null).Select(r => r.Id!.Value).ToArray());
        command.Parameters.AddWithValue("keys", references.Where(r => r.Id is null).Select(r => r.ProjectKey!).ToArray());
        command.Parameters.AddWithValue("numbers", references.Where(r => r.Id is null).Select(r => r.Number).ToArray());
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(0);
            found[new TaskReference(id, null, 0)] = id;
            found[new TaskReference(null, reader.GetString(1), reader.GetInt32(2))] = id;
        }
        return found;
    }

    /// <summary>
    /// Creates the plan's tasks at the end of the todo column in plan order, numbered in that order, with their
    /// blocked-by edges and the history events creating them one by one would write (<c>task.created</c>, then
    /// <c>dependency.added</c>). Returns each task's number in plan order; null when the project is archived.
    /// </summary>
    public async Task<int[]?> CreateAsync(Guid projectId, PlannedTask[] tasks, string actor, BeforeCommit<int[]>? beforeCommit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var edges = tasks.SelectMany(t => t.BlockedBy.Select(blocker => (Task: t.Id, Blocker: blocker))).ToArray();
        NpgsqlParameter[] shared =
        [
            new("project_id", projectId),
            new("actor", actor),
            new("ids", tasks.Select(t => t.Id).ToArray()),
            new("dependent_ids", edges.Select(e => e.Task).ToArray()),
            new("blocker_ids", edges.Select(e => e.Blocker).ToArray()),
        ];
        NpgsqlBatchCommand Statement(string sql, NpgsqlParameter[]? own = null)
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var parameter in shared.Select(p => p.Clone()).Concat(own ?? []))
            {
                command.Parameters.Add(parameter);
            }
            return command;
        }

        // As TaskStore.CreateAsync: the todo column is entered first, in a statement of its own, so that its end is read
        // after whoever moved a task into it has committed; taking the numbers locks the project row, so they are
        // gap-free and unique, and refuses an archived project (then nothing is inserted and the last statement reads
        // no rows). The global dependency section (DependencyStore) is not needed: a new edge can close a cycle only
        // through a path back to a new task, and no existing task can wait for a task that does not exist yet; cycles
        // among the plan's own tasks were refused before (PlanValidation).
        var insertTasks = Statement("""
            WITH numbers AS (
                UPDATE projects SET next_task_number = next_task_number + cardinality(@ids)
                WHERE id = @project_id AND archived_at IS NULL
                RETURNING next_task_number - cardinality(@ids) AS first),
            todo_end AS (
                SELECT COALESCE(max(position), 0) AS position FROM tasks WHERE project_id = @project_id AND status = 'todo')
            INSERT INTO tasks (id, project_id, number, parent_id, title, description, status, priority, assignee,
                               labels, due_date, position, created_by, updated_by)
            SELECT p.id, @project_id, numbers.first + p.ordinal - 1, p.parent_id, p.title, p.description, 'todo', p.priority,
                   p.assignee, ARRAY(SELECT jsonb_array_elements_text(p.labels)), p.due_date,
                   todo_end.position + p.ordinal * @gap, @actor, @actor
            FROM numbers, todo_end,
                 unnest(@ids, @parent_ids::uuid[], @titles::text[], @descriptions::text[], @priorities::text[],
                        @assignees::text[], @labels::jsonb[], @due_dates::date[])
                     WITH ORDINALITY AS p(id, parent_id, title, description, priority, assignee, labels, due_date, ordinal)
            """,
            [
                new("parent_ids", tasks.Select(t => t.Values.ParentId).ToArray()),
                new("titles", tasks.Select(t => t.Values.Title).ToArray()),
                new("descriptions", tasks.Select(t => t.Values.Description).ToArray()),
                new("priorities", tasks.Select(t => Naming.SnakeCase(t.Values.Priority)).ToArray()),
                new("assignees", tasks.Select(t => t.Values.Assignee).ToArray()),
                new("labels", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = tasks.Select(t => EventLog.ToNode(t.Values.Labels)!.ToJsonString()).ToArray() },
                new("due_dates", tasks.Select(t => t.Values.DueDate).ToArray()),
                new("gap", TaskRows.PositionGap),
            ]);
        var insertEdges = Statement("""
            INSERT INTO task_dependencies (task_id, blocker_id, created_by)
            SELECT d.task_id, d.blocker_id, @actor
            FROM unnest(@dependent_ids, @blocker_ids) AS d(task_id, blocker_id)
            WHERE EXISTS (SELECT 1 FROM tasks WHERE id = d.task_id)
            """);
        var createdEvents = Statement("""
            INSERT INTO task_events (actor, kind, project_id, task_id, data)
            SELECT @actor, @kind, @project_id, t.id, e.data || jsonb_build_object('ref', p.key || '-' || t.number)
            FROM unnest(@ids, @data::jsonb[]) WITH ORDINALITY AS e(id, data, ordinal)
            JOIN tasks t ON t.id = e.id JOIN projects p ON p.id = t.project_id
            ORDER BY e.ordinal
            """,
            [
                new("kind", EventKinds.TaskCreated),
                new("data", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = tasks.Select(t => TaskRows.CreatedData(t.Values).ToJsonString()).ToArray() },
            ]);
        var edgeEvents = Statement("""
            INSERT INTO task_events (actor, kind, project_id, task_id, data)
            SELECT @actor, @kind, @project_id, t.id,
                   jsonb_build_object('ref', p.key || '-' || t.number, 'blocker', bp.key || '-' || b.number)
            FROM unnest(@dependent_ids, @blocker_ids) WITH ORDINALITY AS d(task_id, blocker_id, ordinal)
            JOIN tasks t ON t.id = d.task_id JOIN projects p ON p.id = t.project_id
            JOIN tasks b ON b.id = d.blocker_id JOIN projects bp ON bp.id = b.project_id
            ORDER BY d.ordinal
            """,
            [new("kind", EventKinds.DependencyAdded)]);
        var numbers = Statement("""
            SELECT t.number FROM unnest(@ids) WITH ORDINALITY AS p(id, ordinal) JOIN tasks t ON t.id = p.id ORDER BY p.ordinal
            """);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands = { LockedWrite.Enter(TaskRows.ColumnSection(projectId, TaskState.Todo)), insertTasks, insertEdges, createdEvents, edgeEvents, numbers },
        };
        var created = new List<int>(tasks.Length);
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                created.Add(reader.GetInt32(0));
            }
        }
        if (created.Count == 0)
        {
            return null;
        }
        if (beforeCommit is not null)
        {
            await beforeCommit(transaction, [.. created], ct);
        }
        await transaction.CommitAsync(signal, ct);
        return [.. created];
    }
}
