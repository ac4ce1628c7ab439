using System.Text.Json;
using Npgsql;
using TaskManager.Api.Database;
using NpgsqlTypes;

namespace TaskManager.Api.Events;

/// <summary>Reads the event log: history pages, replays after a Last-Event-ID, and single events for the live stream.</summary>
public sealed class EventStore(NpgsqlDataSource dataSource)
{
    private const string Select = """
        SELECT e.id, e.occurred_at, e.actor, e.kind, e.project_id, p.key, e.task_id,
               CASE WHEN t.id IS NULL THEN NULL ELSE p.key || '-' || t.number END, e.data::text
        FROM task_events e
        JOIN projects p ON p.id = e.project_id
        LEFT JOIN tasks t ON t.id = e.task_id
        """;

    private static EventDto Read(NpgsqlDataReader r)
    {
        using var data = JsonDocument.Parse(r.GetString(8));
        return new(r.GetInt64(0), r.GetFieldValue<DateTimeOffset>(1), r.GetString(2), r.GetString(3), r.GetGuid(4), r.GetString(5),
            r.IsDBNull(6) ? null : r.GetGuid(6), r.IsDBNull(7) ? null : r.GetString(7), data.RootElement.Clone());
    }

    /// <summary>
    /// Events of one task or one project (or all when both are null) past <paramref name="cursorId"/>: oldest first,
    /// or newest first.
    /// </summary>
    public async Task<List<EventDto>> ListAsync(Guid? projectId, Guid? taskId, long? cursorId, bool newestFirst, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            {Select}
            WHERE (@cursor::bigint IS NULL OR {(newestFirst ? "e.id < @cursor" : "e.id > @cursor")})
              AND (@project_id::uuid IS NULL OR e.project_id = @project_id)
              AND (@task_id::uuid IS NULL OR e.task_id = @task_id)
            ORDER BY e.id {(newestFirst ? "DESC" : "ASC")}
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("cursor", NpgsqlDbType.Bigint, (object?)cursorId ?? DBNull.Value);
        command.Parameters.AddWithValue("project_id", NpgsqlDbType.Uuid, (object?)projectId ?? DBNull.Value);
        command.Parameters.AddWithValue("task_id", NpgsqlDbType.Uuid, (object?)taskId ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit);
        return await command.ReadAllAsync(Read, ct);
    }

    /// <summary>The id of the newest event, or 0 when there is none.</summary>
    public async Task<long> LatestIdAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT COALESCE(max(id), 0) FROM task_events");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
