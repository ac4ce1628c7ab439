using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Text;

namespace TaskManager.Api.Tasks.Leases;

/// <summary>A handoff note, validated.</summary>
public sealed record Handoff(string Summary, string Remaining, string[] Files, string? Branch, string[] Links);

/// <summary>
/// SQL for leases and handoffs: heartbeats, releases with a handoff note, and the expiry of leases that ran out. Each
/// runs under the task's row lock (<see cref="TaskRows.WriteAsync"/>), so an expiry, a heartbeat, a release and a new
/// claim of one task happen one after the other, and an expiry that another replica already did finds nothing to do.
/// </summary>
public sealed class LeaseStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    private const string HandoffColumns = "id, author, created_at, summary, remaining, files, branch, links";

    /// <summary>Renews the lease of task <c>@task_id</c> for its length from now (the trigger does it for writes).</summary>
    public const string Renew = """
        UPDATE tasks SET lease_expires_at = now() + make_interval(secs => lease_seconds), lease_heartbeat_at = now()
        WHERE id = @task_id
        """;

    /// <summary>
    /// Renews the lease for its length from now, if it is still <paramref name="actor"/>'s (or the one
    /// <paramref name="leaseId"/> names) and has not run out. Changes no version and writes no history: a heartbeat is
    /// not a change of the task.
    /// </summary>
    public Task<WriteResult<TaskRow>> HeartbeatAsync(TaskReference reference, Guid? leaseId, string actor, CancellationToken ct) =>
        TaskRows.WriteAsync(dataSource, signal, reference, expectedVersion: null, async (connection, transaction, current) =>
        {
            if (NotHolder(current, leaseId, actor, "renew") is { } refused)
            {
                return refused;
            }
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(Renew) { Parameters = { new("task_id", current.Id) } },
                    TaskRows.ReRead(current.Id),
                },
            };
            return new WriteResult<TaskRow>.Done((await TaskRows.WriteAndReReadAsync(batch, ct))!);
        }, ct, leaseId: leaseId);

    /// <summary>
    /// Hands the task back: to the end of todo, unassigned, its lease ended, with <paramref name="handoff"/> for whoever
    /// claims it next. Its holder may release it, and so may a person (taking work back from a stuck agent); another
    /// agent may not while the lease is current.
    /// </summary>
    public Task<WriteResult<TaskRow>> ReleaseAsync(
        TaskReference reference, Guid? leaseId, Handoff handoff, string actor, bool isPerson, BeforeCommit<TaskRow>? beforeCommit, CancellationToken ct) =>
        TaskRows.WriteAsync(dataSource, signal, reference, expectedVersion: null, async (connection, transaction, current) =>
        {
            if (current.Status is not (TaskState.Doing or TaskState.Review))
            {
                return new WriteResult<TaskRow>.Conflict(
                    $"{current.Ref} is in {Naming.SnakeCase(current.Status)}, not in progress: only a task in doing or review can be released.");
            }
            if (!isPerson && current.Lease is { Expired: false } && NotHolder(current, leaseId, actor, "release") is { } refused)
            {
                return refused;
            }
            var id = Guid.CreateVersion7();
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    LockedWrite.Enter(TaskRows.ColumnSection(current.ProjectId, TaskState.Todo)),
                    BackToTodo(current, actor, expired: false),
                    new NpgsqlBatchCommand("""
                        INSERT INTO task_handoffs (id, task_id, author, summary, remaining, files, branch, links)
                        VALUES (@id, @task_id, @author, @summary, @remaining, @files, @branch, @links)
                        """)
                    {
                        Parameters =
                        {
                            new("id", id), new("task_id", current.Id), new("author", actor), new("summary", handoff.Summary),
                            new("remaining", handoff.Remaining), new("files", handoff.Files),
                            new("branch", NpgsqlDbType.Text) { Value = (object?)handoff.Branch ?? DBNull.Value }, new("links", handoff.Links),
                        },
                    },
                    EventLog.Append(actor, EventKinds.TaskReleased, current.ProjectId, current.Id, new JsonObject
                    {
                        ["ref"] = current.Ref,
                        ["changes"] = ToTodoChanges(current),
                        ["handoffId"] = id.ToString(),
                        ["summary"] = TextRules.Excerpt(handoff.Summary, 280),
                    }),
                    TaskRows.ReRead(current.Id),
                },
            };
            return new WriteResult<TaskRow>.Done((await TaskRows.WriteAndReReadAsync(batch, ct))!);
        }, ct, beforeCommit: beforeCommit, leaseId: leaseId);

    /// <summary>
    /// Puts a task whose lease ran out back in todo (unassigned, ready again) with a <c>lease.expired</c> event naming
    /// the holder. False when there was nothing to do: the lease was renewed, released or already expired meanwhile
    /// (by another replica's sweep, say).
    /// </summary>
    public async Task<bool> ExpireAsync(Guid taskId, CancellationToken ct)
    {
        var result = await TaskRows.WriteAsync(dataSource, signal, new TaskReference(taskId, null, 0), expectedVersion: null,
            async (connection, transaction, current) =>
            {
                if (current.Lease is not { Expired: true } lease)
                {
                    return new WriteResult<TaskRow>.NotFound();
                }
                await using var batch = new NpgsqlBatch(connection, transaction)
                {
                    BatchCommands =
                    {
                        LockedWrite.Enter(TaskRows.ColumnSection(current.ProjectId, TaskState.Todo)),
                        BackToTodo(current, LeaseRules.ExpiryActor, expired: true),
                        EventLog.Append(LeaseRules.ExpiryActor, EventKinds.LeaseExpired, current.ProjectId, current.Id, new JsonObject
                        {
                            ["ref"] = current.Ref,
                            ["holder"] = lease.Holder,
                            ["expiresAt"] = EventLog.ToNode(lease.ExpiresAt),
                            ["lastHeartbeatAt"] = EventLog.ToNode(lease.HeartbeatAt),
                            ["changes"] = ToTodoChanges(current),
                        }),
                        TaskRows.ReRead(current.Id),
                    },
                };
                return new WriteResult<TaskRow>.Done((await TaskRows.WriteAndReReadAsync(batch, ct))!);
            }, ct);
        return result is WriteResult<TaskRow>.Done;
    }

    /// <summary>
    /// <see cref="ExpireAsync"/> for a read or a claim that met a lease that ran out: best effort. The task may be locked
    /// by a slow writer or its column busy; the reader then sees the lease as expired and the sweep expires it soon.
    /// </summary>
    public async Task TryExpireAsync(Guid taskId, CancellationToken ct)
    {
        try
        {
            await ExpireAsync(taskId, ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled)
        {
            // Left to the sweep.
        }
    }

    /// <summary>
    /// Expires up to <paramref name="limit"/> leases that ran out (in one project, or anywhere), oldest first; returns how
    /// many it expired. Each in a transaction of its own, so one busy task does not hold up the rest.
    /// </summary>
    public async Task<int> ExpireDueAsync(Guid? projectId, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT id FROM tasks
            WHERE lease_expires_at <= now() AND (@project_id::uuid IS NULL OR project_id = @project_id)
            ORDER BY lease_expires_at
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("project_id", NpgsqlDbType.Uuid, (object?)projectId ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit);
        var due = await command.ReadAllAsync(r => r.GetGuid(0), ct);
        var expired = 0;
        foreach (var id in due)
        {
            expired += await ExpireAsync(id, ct) ? 1 : 0;
        }
        return expired;
    }

    /// <summary><see cref="ExpireDueAsync"/> before a claim: best effort, a busy task is left to the sweep.</summary>
    public async Task TryExpireDueAsync(Guid? projectId, int limit, CancellationToken ct)
    {
        try
        {
            await ExpireDueAsync(projectId, limit, ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled)
        {
            // Left to the sweep.
        }
    }

    /// <summary>The task's handoff notes, newest first.</summary>
    public async Task<List<HandoffDto>> HandoffsAsync(Guid taskId, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {HandoffColumns} FROM task_handoffs WHERE task_id = @task_id ORDER BY id DESC LIMIT @limit
            """);
        command.Parameters.AddWithValue("task_id", taskId);
        command.Parameters.AddWithValue("limit", limit);
        return await command.ReadAllAsync(ReadHandoff, ct);
    }

    /// <summary>The latest handoff note of a task, read in a claim's transaction, so a keyed claim's stored answer has it.</summary>
    public static async Task<HandoffDto?> LatestHandoffAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid taskId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT {HandoffColumns} FROM task_handoffs WHERE task_id = @task_id ORDER BY id DESC LIMIT 1
            """, connection, transaction);
        command.Parameters.AddWithValue("task_id", taskId);
        return await command.ReadFirstOrDefaultAsync(ReadHandoff, ct);
    }

    private static HandoffDto ReadHandoff(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetFieldValue<DateTimeOffset>(2), r.GetString(3), r.GetString(4),
        r.GetFieldValue<string[]>(5), r.IsDBNull(6) ? null : r.GetString(6), r.GetFieldValue<string[]>(7));

    private static JsonObject ToTodoChanges(TaskRow current)
    {
        var changes = new JsonObject();
        changes.Change("status", current.Status, TaskState.Todo);
        changes.Change("assignee", current.Assignee, null);
        return changes;
    }

    /// <summary>
    /// The task to the end of todo, unassigned; its lease ends with the status (the trigger). An expiry remembers who
    /// lost it; a release forgets an earlier expiry.
    /// </summary>
    private static NpgsqlBatchCommand BackToTodo(TaskRow current, string actor, bool expired) => new("""
        UPDATE tasks SET status = 'todo', assignee = NULL,
            position = COALESCE((SELECT max(position) FROM tasks WHERE project_id = @project_id AND status = 'todo'), 0) + @gap,
            lease_expired_holder = CASE WHEN @expired THEN lease_holder END,
            lease_expired_at = CASE WHEN @expired THEN now() END,
            updated_at = now(), updated_by = @actor, version = version + 1
        WHERE id = @id
        """)
    {
        Parameters =
        {
            new("id", current.Id), new("project_id", current.ProjectId), new("gap", TaskRows.PositionGap), new("actor", actor),
            new("expired", expired),
        },
    };

    /// <summary>
    /// The 409 for renewing or releasing a lease the caller does not hold: none at all, another's (without the lease id),
    /// or one that ran out. A write that names its lease (<paramref name="leaseId"/>) was checked before this.
    /// </summary>
    private static WriteResult<TaskRow>.Conflict? NotHolder(TaskRow current, Guid? leaseId, string actor, string verb) => current.Lease switch
    {
        null => new($"{current.Ref} has no lease to {verb}: claim it first (claim_next_task, POST /api/tasks/claim)."),
        { Expired: true } => new($"Your lease on {current.Ref} expired; re-claim."),
        { } lease when leaseId is null && lease.Holder != actor => new($"{current.Ref} is claimed by {lease.Holder}; only its holder may {verb} the lease."),
        _ => null,
    };
}
