using System.Text.Json.Nodes;
using Npgsql;

namespace TaskManager.Api.Events;

/// <summary>Kinds of history events.</summary>
public static class EventKinds
{
    public const string ProjectCreated = "project.created";
    public const string ProjectUpdated = "project.updated";
    public const string ProjectArchived = "project.archived";
    public const string ProjectRestored = "project.restored";
    public const string TaskCreated = "task.created";
    public const string TaskUpdated = "task.updated";
    public const string TaskMoved = "task.moved";
    public const string TaskArchived = "task.archived";
    public const string TaskRestored = "task.restored";
    public const string TaskClaimed = "task.claimed";
    public const string TaskReady = "task.ready";
    public const string TaskReleased = "task.released";
    public const string LeaseExpired = "lease.expired";
    public const string CommentAdded = "comment.added";
    public const string DependencyAdded = "dependency.added";
    public const string DependencyRemoved = "dependency.removed";
}

/// <summary>
/// Appends a history event inside the caller's transaction, so history and live updates can never disagree with the
/// data: the event exists exactly when the change committed.
/// </summary>
/// <remarks>
/// Nothing here serialises writers: the event records its transaction (<c>xact</c>), and readers order the log by
/// (xact, id) and release an event only when no transaction with a smaller id can still commit (see
/// <see cref="EventStore"/>). After committing, the writer calls <see cref="EventSignal.Committed"/> so live streams
/// hear of it at once, here and on every other replica.
/// </remarks>
public static class EventLog
{
    public static async Task AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string actor, string kind,
        Guid projectId, Guid? taskId, JsonObject data, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { Append(actor, kind, projectId, taskId, data) } };
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The insert of <see cref="AppendAsync"/> as a statement of the writer's batch (it returns no rows).
    /// <paramref name="extraData"/>: a jsonb expression merged into the data, for what only the database knows yet;
    /// <paramref name="onlyIf"/>: a condition for appending at all. Both may use <c>@task_id</c>.
    /// </summary>
    public static NpgsqlBatchCommand Append(
        string actor, string kind, Guid projectId, Guid? taskId, JsonObject data, string? extraData = null, string? onlyIf = null) =>
        new($"""
            INSERT INTO task_events (actor, kind, project_id, task_id, data)
            SELECT @actor, @kind, @project_id, @task_id, @data::jsonb{(extraData is null ? "" : " || " + extraData)}
            {(onlyIf is null ? "" : "WHERE " + onlyIf)}
            """)
        {
            Parameters =
            {
                new("actor", actor),
                new("kind", kind),
                new("project_id", projectId),
                new("task_id", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)taskId ?? DBNull.Value },
                new("data", data.ToJsonString()),
            },
        };

    /// <summary>
    /// For <see cref="Append"/>'s extra data: the ids of the tasks <c>@task_id</c> blocks (<c>dependents</c>), when it
    /// has any. A task entering or leaving done unblocks or blocks them again; their change is not an event of their
    /// own, so this event names them for readers that show blocked markers.
    /// </summary>
    public const string DependentsData = """
        COALESCE((SELECT jsonb_build_object('dependents', jsonb_agg(task_id ORDER BY task_id))
                  FROM task_dependencies WHERE blocker_id = @task_id HAVING count(*) > 0), '{}')
        """;

    /// <summary>Commits a transaction that appended events and tells live streams about them.</summary>
    public static async Task CommitAsync(this NpgsqlTransaction transaction, EventSignal signal, CancellationToken ct)
    {
        await transaction.CommitAsync(ct);
        signal.Committed();
    }

    /// <summary>Records <c>field: { old, new }</c> when the value changed.</summary>
    public static void Change<T>(this JsonObject changes, string field, T before, T after)
    {
        if (!EqualityComparer<T>.Default.Equals(before, after))
        {
            changes[field] = new JsonObject { ["old"] = ToNode(before), ["new"] = ToNode(after) };
        }
    }

    public static void ChangeSet(this JsonObject changes, string field, IReadOnlyCollection<string> before, IReadOnlyCollection<string> after)
    {
        if (!before.Order(StringComparer.Ordinal).SequenceEqual(after.Order(StringComparer.Ordinal)))
        {
            changes[field] = new JsonObject { ["old"] = ToNode(before), ["new"] = ToNode(after) };
        }
    }

    public static JsonNode? ToNode<T>(T value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        DateOnly d => JsonValue.Create(d.ToString("yyyy-MM-dd")),
        DateTimeOffset d => JsonValue.Create(d),
        Guid g => JsonValue.Create(g.ToString()),
        Enum e => JsonValue.Create(Naming.SnakeCase(e)),
        IEnumerable<string> list => new JsonArray([.. list.Select(s => (JsonNode?)JsonValue.Create(s))]),
        _ => JsonValue.Create(value.ToString()),
    };
}

public static class Naming
{
    public static string SnakeCase(Enum value) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
}
