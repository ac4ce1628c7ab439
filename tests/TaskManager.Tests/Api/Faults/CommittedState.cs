using System.Text.Json;
using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api.Faults;

public sealed record StoredTask(Guid Id, string Ref, string Title, int Version);

public sealed record StoredEvent(long Id, string Kind, Guid? TaskId, JsonElement Data);

public sealed record StoredComment(Guid Id, Guid TaskId, string Body);

/// <summary>One project's tasks, comments and event log as the database has them, read straight with SQL after the run.</summary>
public sealed record CommittedState(List<StoredTask> Tasks, List<StoredEvent> Log, List<StoredComment> Comments)
{
    /// <summary>The kinds of event that come with a version bump of the task (the writes of this load).</summary>
    public static readonly string[] VersionEvents = ["task.updated", "task.moved", "task.claimed", "task.archived", "task.restored"];

    public static async Task<CommittedState> ReadAsync(string connectionString, string project)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        var tasks = await QueryAsync(connection, project, """
            SELECT t.id, p.key || '-' || t.number, t.title, t.version FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.key = @key
            """, r => new StoredTask(r.GetGuid(0), r.GetString(1), r.GetString(2), r.GetInt32(3)));
        // Log order, as history pages and streams give it.
        var log = await QueryAsync(connection, project, """
            SELECT e.id, e.kind, e.task_id, e.data::text FROM task_events e JOIN projects p ON p.id = e.project_id
            WHERE p.key = @key ORDER BY e.xact, e.id
            """, r => new StoredEvent(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetGuid(2), JsonDocument.Parse(r.GetString(3)).RootElement.Clone()));
        var comments = await QueryAsync(connection, project, """
            SELECT c.id, c.task_id, c.body FROM task_comments c JOIN tasks t ON t.id = c.task_id JOIN projects p ON p.id = t.project_id
            WHERE p.key = @key
            """, r => new StoredComment(r.GetGuid(0), r.GetGuid(1), r.GetString(2)));
        return new CommittedState(tasks, log, comments);
    }

    private static async Task<List<T>> QueryAsync<T>(NpgsqlConnection connection, string project, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("key", project);
        await using var reader = await command.ExecuteReaderAsync(TestHelpers.Ct).Timeout();
        var rows = new List<T>();
        while (await reader.ReadAsync(TestHelpers.Ct).Timeout())
        {
            rows.Add(read(reader));
        }
        return rows;
    }
}
