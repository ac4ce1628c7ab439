using System.Text;
using System.Text.Json;
using Npgsql;
using TaskManager.Api.Database;

namespace TaskManager.Api.Events;

/// <summary>
/// Where an event stands in the log: the transaction that wrote it, then its id. Every reader orders by this, so that
/// "after" means the same thing to history, replays and live streams.
/// </summary>
public readonly record struct EventPosition(long Xact, long Id) : IComparable<EventPosition>
{
    public static readonly EventPosition Start = new(0, 0);

    public int CompareTo(EventPosition other) => Xact != other.Xact ? Xact.CompareTo(other.Xact) : Id.CompareTo(other.Id);

    public static bool operator >(EventPosition a, EventPosition b) => a.CompareTo(b) > 0;

    public static bool operator <(EventPosition a, EventPosition b) => a.CompareTo(b) < 0;
}

/// <summary>
/// An event as read, with its position and whether it is released: no transaction that could still commit an event
/// before it is running (its xact is below the reading snapshot's xmin). Only released events may advance a cursor
/// that someone resumes from; unreleased ones are committed and correct to show, but something may yet appear
/// before them.
/// </summary>
public sealed record StoredEvent(EventPosition Position, bool Released, EventDto Event);

/// <summary>Reads the event log: history pages, replays after a Last-Event-ID, and batches for the live stream.</summary>
public sealed class EventStore(NpgsqlDataSource dataSource)
{
    private const string Select = """
        SELECT e.id, e.occurred_at, e.actor, e.kind, e.project_id, p.key, e.task_id,
               CASE WHEN t.id IS NULL THEN NULL ELSE p.key || '-' || t.number END, e.data::text,
               e.xact, e.xact < mark.xmin
        FROM task_events e
        CROSS JOIN (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) mark
        JOIN projects p ON p.id = e.project_id
        LEFT JOIN tasks t ON t.id = e.task_id
        """;

    private const string SnapshotXmin = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

    private static StoredEvent Read(NpgsqlDataReader r)
    {
        using var data = JsonDocument.Parse(r.GetString(8));
        var e = new EventDto(r.GetInt64(0), r.GetFieldValue<DateTimeOffset>(1), r.GetString(2), r.GetString(3), r.GetGuid(4), r.GetString(5),
            r.IsDBNull(6) ? null : r.GetGuid(6), r.IsDBNull(7) ? null : r.GetString(7), data.RootElement.Clone());
        return new StoredEvent(new EventPosition(r.GetInt64(9), e.Id), r.GetBoolean(10), e);
    }

    /// <summary>
    /// Events of one task or one project (or all when both are null) past <paramref name="cursor"/>, in log order:
    /// oldest first, or newest first.
    /// </summary>
    public async Task<List<StoredEvent>> ListAsync(
        Guid? projectId, Guid? taskId, EventPosition? cursor, bool newestFirst, int limit, CancellationToken ct)
    {
        // Only the conditions that apply, so that each combination is one plan on its index.
        var where = new StringBuilder("WHERE true");
        await using var command = dataSource.CreateCommand();
        if (cursor is { } c)
        {
            where.Append(newestFirst ? " AND (e.xact, e.id) < (@xact, @id)" : " AND (e.xact, e.id) > (@xact, @id)");
            command.Parameters.AddWithValue("xact", c.Xact);
            command.Parameters.AddWithValue("id", c.Id);
        }
        if (projectId is { } project)
        {
            where.Append(" AND e.project_id = @project_id");
            command.Parameters.AddWithValue("project_id", project);
        }
        if (taskId is { } task)
        {
            where.Append(" AND e.task_id = @task_id");
            command.Parameters.AddWithValue("task_id", task);
        }
        var order = newestFirst ? "DESC" : "ASC";
        command.CommandText = $"{Select}\n{where}\nORDER BY e.xact {order}, e.id {order}\nLIMIT @limit";
        command.Parameters.AddWithValue("limit", limit);
        return await command.ReadAllAsync(Read, ct);
    }

    /// <summary>
    /// How many events of one project (or of all) follow <paramref name="after"/>, counting no further than
    /// <paramref name="atMost"/>: what a resume would replay, at the cost of that many index entries at most.
    /// </summary>
    public async Task<int> CountAfterAsync(Guid? projectId, EventPosition after, int atMost, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(projectId is null
            ? "SELECT count(*) FROM (SELECT FROM task_events WHERE (xact, id) > (@xact, @id) LIMIT @at_most) replay"
            : "SELECT count(*) FROM (SELECT FROM task_events WHERE project_id = @project_id AND (xact, id) > (@xact, @id) LIMIT @at_most) replay");
        command.Parameters.AddWithValue("xact", after.Xact);
        command.Parameters.AddWithValue("id", after.Id);
        command.Parameters.AddWithValue("at_most", atMost);
        if (projectId is { } project)
        {
            command.Parameters.AddWithValue("project_id", project);
        }
        return (int)(long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>The position of the newest released event, or <see cref="EventPosition.Start"/> when there is none.</summary>
    public async Task<EventPosition> LatestReleasedAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT xact, id FROM task_events WHERE xact < {SnapshotXmin}
            ORDER BY xact DESC, id DESC LIMIT 1
            """);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new EventPosition(reader.GetInt64(0), reader.GetInt64(1)) : EventPosition.Start;
    }

    /// <summary>The oldest transaction of the cluster that holds an id (what keeps events from being released), described.</summary>
    public async Task<string?> OldestRunningTransactionAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            (SELECT format('pid %s in database %s (%s, %s since %s)', pid, datname,
                           coalesce(nullif(application_name, ''), 'no application name'), state, xact_start)
             FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
             ORDER BY age(backend_xid) DESC LIMIT 1)
            UNION ALL
            (SELECT format('prepared transaction %L in database %s (since %s)', gid, database, prepared)
             FROM pg_prepared_xacts ORDER BY age(transaction) DESC LIMIT 1)
            LIMIT 1
            """);
        return await command.ExecuteScalarAsync(ct) as string;
    }

    /// <summary>
    /// Where a stream without a resume point starts: after the newest released event, skipping the events that were
    /// committed already but not yet released, so that it carries exactly what commits later. Those are told apart by
    /// the snapshot of the same statement (whose in-progress list is as short as the number of running transactions).
    /// </summary>
    public async Task<(EventPosition Released, CommittedBefore Skip)> StartingPointAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint,
                   ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) x),
                   latest.xact, latest.id
            FROM pg_current_snapshot() s
            LEFT JOIN LATERAL (
                SELECT xact, id FROM task_events WHERE xact < pg_snapshot_xmin(s)::text::bigint
                ORDER BY xact DESC, id DESC LIMIT 1) latest ON true
            """);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var skip = new CommittedBefore(reader.GetInt64(0), reader.GetInt64(1), [.. reader.GetFieldValue<long[]>(2)]);
        return (reader.IsDBNull(3) ? EventPosition.Start : new EventPosition(reader.GetInt64(3), reader.GetInt64(4)), skip);
    }

    /// <summary>
    /// Where a stream resuming after event <paramref name="id"/> replays from (0: from the first event); null when there
    /// is no such event. Normally the event itself. An id read from a history page may not be released yet (an older
    /// transaction could still commit an event before it), and then it is the newest event released in the same
    /// snapshot: the stream repeats a few events rather than skip one. Both come from one statement, so the released
    /// point can never lie past the event (read separately, an older transaction ending in between moved it past).
    /// </summary>
    public async Task<EventPosition?> ResumePointAsync(long id, CancellationToken ct)
    {
        if (id == 0)
        {
            return EventPosition.Start;
        }
        await using var command = dataSource.CreateCommand("""
            SELECT e.xact, e.xact < mark.xmin, latest.xact, latest.id
            FROM task_events e
            CROSS JOIN (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) mark
            LEFT JOIN LATERAL (
                SELECT xact, id FROM task_events WHERE xact < mark.xmin
                ORDER BY xact DESC, id DESC LIMIT 1) latest ON e.xact >= mark.xmin
            WHERE e.id = @id
            """);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        return reader.GetBoolean(1) ? new EventPosition(reader.GetInt64(0), id)
            : reader.IsDBNull(2) ? EventPosition.Start
            : new EventPosition(reader.GetInt64(2), reader.GetInt64(3));
    }
}

/// <summary>
/// The transactions a snapshot saw as committed, among those it could not yet release: an event of one of them was
/// committed before the snapshot was taken.
/// </summary>
public sealed record CommittedBefore(long Xmin, long Xmax, HashSet<long> InProgress)
{
    public static readonly CommittedBefore Nothing = new(0, 0, []);

    public bool Contains(EventPosition position) =>
        position.Xact >= Xmin && position.Xact < Xmax && !InProgress.Contains(position.Xact);
}
