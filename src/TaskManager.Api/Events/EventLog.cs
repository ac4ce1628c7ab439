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
/// Appends a history event inside the caller's transaction and notifies listeners when that transaction commits
/// (NOTIFY is transactional), so history and live updates can never disagree with the data.
/// </summary>
/// <remarks>
/// Call it last, just before committing: it takes a lock that is held until the commit, so that events commit in the
/// order of their ids. Readers that resume "after id N" (history cursors, Last-Event-ID) then never miss an event that
/// got a smaller id but committed later.
/// </remarks>
public static class EventLog
{
    public const string Channel = "task_events";

    // Any constant; "EVENTS" in ASCII.
    private const long CommitOrderLock = 0x4556454E5453;

    public static async Task<long> AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string actor, string kind,
        Guid projectId, Guid? taskId, JsonObject data, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""
            SELECT pg_advisory_xact_lock(@lock);
            WITH event AS (
                INSERT INTO task_events (actor, kind, project_id, task_id, data)
                VALUES (@actor, @kind, @project_id, @task_id, @data::jsonb)
                RETURNING id)
            SELECT id, pg_notify(@channel, id::text) FROM event
            """, connection, transaction);
        command.Parameters.AddWithValue("actor", actor);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("project_id", projectId);
        command.Parameters.AddWithValue("task_id", (object?)taskId ?? DBNull.Value);
        command.Parameters.AddWithValue("data", data.ToJsonString());
        command.Parameters.AddWithValue("channel", Channel);
        command.Parameters.AddWithValue("lock", CommitOrderLock);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return reader.GetInt64(0);
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
