using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Projects;

/// <summary>SQL for projects. Every write runs in one transaction with its history event.</summary>
public sealed class ProjectStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    private const string Select = """
        SELECT p.id, p.key, p.title, p.description, p.pinned, p.archived_at, p.archived_by,
               p.created_at, p.created_by, p.updated_at, p.updated_by, p.version, p.done_by_people_only, p.agent_lease_seconds
        FROM projects p
        """;

    private static ProjectRow Read(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetBoolean(4),
        r.IsDBNull(5) ? null : r.GetFieldValue<DateTimeOffset>(5), r.IsDBNull(6) ? null : r.GetString(6),
        r.GetFieldValue<DateTimeOffset>(7), r.GetString(8), r.GetFieldValue<DateTimeOffset>(9), r.GetString(10),
        r.GetInt32(11), r.GetBoolean(12), r.GetInt32(13));

    /// <summary>Creates a project, or returns null when the key is taken.</summary>
    public async Task<ProjectRow?> CreateAsync(string key, ProjectChanges values, string actor, BeforeCommit<ProjectRow>? beforeCommit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand("""
            INSERT INTO projects (id, key, title, description, pinned, done_by_people_only, agent_lease_seconds, created_by, updated_by)
            VALUES (@id, @key, @title, @description, @pinned, @done_by_people_only, @agent_lease_seconds, @actor, @actor)
            ON CONFLICT (key) DO NOTHING
            RETURNING id
            """, connection, transaction);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("key", key);
        AddValues(command, values);
        command.Parameters.AddWithValue("actor", actor);
        if (await command.ExecuteScalarAsync(ct) is not Guid id)
        {
            return null;
        }
        var row = (await FindAsync(connection, transaction, id.ToString(), forUpdate: false, ct))!;
        await EventLog.AppendAsync(connection, transaction, actor, EventKinds.ProjectCreated, row.Id, null,
            new JsonObject { ["key"] = row.Key, ["title"] = row.Title }, ct);
        if (beforeCommit is not null)
        {
            await beforeCommit(transaction, row, ct);
        }
        await transaction.CommitAsync(signal, ct);
        return row;
    }

    /// <summary>Finds a project by id or key (case-insensitive).</summary>
    public async Task<ProjectRow?> FindAsync(string reference, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await FindAsync(connection, null, reference, forUpdate: false, ct);
    }

    private static async Task<ProjectRow?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string reference, bool forUpdate, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            {Select}
            WHERE (@id::uuid IS NOT NULL AND p.id = @id) OR p.key = upper(@key)
            {(forUpdate ? "FOR NO KEY UPDATE" : "")}
            """, connection, transaction);
        command.Parameters.AddWithValue("id", NpgsqlDbType.Uuid, Guid.TryParse(reference, out var id) ? id : DBNull.Value);
        command.Parameters.AddWithValue("key", reference.Trim());
        return await command.ReadFirstOrDefaultAsync(Read, ct);
    }

    /// <summary>Pinned first, then by key; <paramref name="after"/> is the keyset cursor.</summary>
    public async Task<List<ProjectRow>> ListAsync(string? query, bool includeArchived, (bool Pinned, string Key)? after, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            {Select}
            WHERE (@include_archived OR p.archived_at IS NULL)
              AND (@query::text IS NULL OR p.search @@ websearch_to_tsquery('simple', @query))
              AND (@after_key::text IS NULL OR (NOT p.pinned, p.key) > (NOT @after_pinned, @after_key))
            ORDER BY NOT p.pinned, p.key
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("include_archived", includeArchived);
        command.Parameters.AddWithValue("query", NpgsqlDbType.Text, (object?)query ?? DBNull.Value);
        command.Parameters.AddWithValue("after_key", NpgsqlDbType.Text, (object?)after?.Key ?? DBNull.Value);
        command.Parameters.AddWithValue("after_pinned", after?.Pinned ?? false);
        command.Parameters.AddWithValue("limit", limit);
        return await command.ReadAllAsync(Read, ct);
    }

    public Task<WriteResult<ProjectRow>> UpdateAsync(
        string reference, int? expectedVersion, Func<ProjectRow, ProjectChanges> change, string actor,
        BeforeCommit<ProjectRow>? beforeCommit, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, beforeCommit, async (connection, transaction, current) =>
        {
            var next = change(current);
            var changes = new JsonObject();
            changes.Change("title", current.Title, next.Title);
            changes.Change("description", current.Description, next.Description);
            changes.Change("pinned", current.Pinned, next.Pinned);
            changes.Change("doneByPeopleOnly", current.DoneByPeopleOnly, next.DoneByPeopleOnly);
            changes.Change("agentLeaseSeconds", current.AgentLeaseSeconds, next.AgentLeaseSeconds);
            if (changes.Count == 0)
            {
                return new WriteResult<ProjectRow>.Done(current);
            }

            await using var update = new NpgsqlCommand("""
                UPDATE projects SET title = @title, description = @description, pinned = @pinned,
                    done_by_people_only = @done_by_people_only, agent_lease_seconds = @agent_lease_seconds, updated_at = now(), updated_by = @actor, version = version + 1
                WHERE id = @id
                """, connection, transaction);
            update.Parameters.AddWithValue("id", current.Id);
            AddValues(update, next);
            update.Parameters.AddWithValue("actor", actor);
            await update.ExecuteNonQueryAsync(ct);
            var updated = (await FindAsync(connection, transaction, current.Id.ToString(), forUpdate: false, ct))!;
            await EventLog.AppendAsync(connection, transaction, actor, EventKinds.ProjectUpdated, current.Id, null,
                new JsonObject { ["key"] = current.Key, ["changes"] = changes }, ct);
            return new WriteResult<ProjectRow>.Done(updated);
        }, ct);

    /// <summary>Archives or restores a project; doing it twice changes nothing the second time.</summary>
    public Task<WriteResult<ProjectRow>> SetArchivedAsync(
        string reference, int? expectedVersion, bool archived, string actor, BeforeCommit<ProjectRow>? beforeCommit, CancellationToken ct) =>
        WriteAsync(reference, expectedVersion, beforeCommit, async (connection, transaction, current) =>
        {
            if (current.ArchivedAt is not null == archived)
            {
                return new WriteResult<ProjectRow>.Done(current);
            }
            await using var update = new NpgsqlCommand("""
                UPDATE projects SET
                    archived_at = CASE WHEN @archived THEN now() END,
                    archived_by = CASE WHEN @archived THEN @actor END,
                    updated_at = now(), updated_by = @actor, version = version + 1
                WHERE id = @id
                """, connection, transaction);
            update.Parameters.AddWithValue("id", current.Id);
            update.Parameters.AddWithValue("archived", archived);
            update.Parameters.AddWithValue("actor", actor);
            await update.ExecuteNonQueryAsync(ct);
            var updated = (await FindAsync(connection, transaction, current.Id.ToString(), forUpdate: false, ct))!;
            await EventLog.AppendAsync(connection, transaction, actor, archived ? EventKinds.ProjectArchived : EventKinds.ProjectRestored,
                current.Id, null, new JsonObject { ["key"] = current.Key }, ct);
            return new WriteResult<ProjectRow>.Done(updated);
        }, ct);

    private Task<WriteResult<ProjectRow>> WriteAsync(
        string reference, int? expectedVersion, BeforeCommit<ProjectRow>? beforeCommit,
        Func<NpgsqlConnection, NpgsqlTransaction, ProjectRow, Task<WriteResult<ProjectRow>>> write, CancellationToken ct) =>
        LockedWrite.RunAsync(dataSource, signal,
            (connection, transaction) => FindAsync(connection, transaction, reference, forUpdate: true, ct),
            row => row.Version, expectedVersion, write, ct, beforeCommit: beforeCommit);

    private static void AddValues(NpgsqlCommand command, ProjectChanges values)
    {
        command.Parameters.AddWithValue("title", values.Title);
        command.Parameters.AddWithValue("description", values.Description);
        command.Parameters.AddWithValue("pinned", values.Pinned);
        command.Parameters.AddWithValue("done_by_people_only", values.DoneByPeopleOnly);
        command.Parameters.AddWithValue("agent_lease_seconds", values.AgentLeaseSeconds);
    }

    /// <summary>The key and done policy of the project a task belongs to; null when there is no such task.</summary>
    public async Task<(string Key, bool DoneByPeopleOnly)?> PolicyOfTaskAsync(TaskReference reference, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(reference.Id is not null
            ? "SELECT p.key, p.done_by_people_only FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = @id"
            : "SELECT p.key, p.done_by_people_only FROM projects p WHERE p.key = @key");
        if (reference.Id is { } id)
        {
            command.Parameters.AddWithValue("id", id);
        }
        else
        {
            command.Parameters.AddWithValue("key", reference.ProjectKey!);
        }
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetString(0), reader.GetBoolean(1)) : null;
    }
}
