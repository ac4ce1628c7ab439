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
    public static async Task<long> AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string actor, string kind,
        Guid projectId, Guid? taskId, JsonObject data, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO task_events (actor, kind, project_id, task_id, data)
            VALUES (@actor, @kind, @project_id, @task_id, @data::jsonb)
            RETURNING id
            """, connection, transaction);
        command.Parameters.AddWithValue("actor", actor);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("project_id", projectId);
        command.Parameters.AddWithValue("task_id", NpgsqlTypes.NpgsqlDbType.Uuid, (object?)taskId ?? DBNull.Value);
        command.Parameters.AddWithValue("data", data.ToJsonString());
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

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
