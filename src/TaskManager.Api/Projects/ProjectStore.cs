using System.Text.Json.Nodes;
using Npgsql;
using TaskManager.Api.Events;

namespace TaskManager.Api.Projects;

/// <summary>SQL for projects. The only place that reads or writes the <c>projects</c> table's columns.</summary>
public sealed class ProjectStore(NpgsqlDataSource dataSource)
{
    internal const string Columns = """
        p.id, p.key, p.title, p.description, p.pinned, p.archived_at, p.archived_by,
        p.created_at, p.created_by, p.updated_at, p.updated_by, p.version
        """;

    internal static ProjectRow Read(NpgsqlDataReader r, int o = 0) => new(
        r.GetGuid(o), r.GetString(o + 1), r.GetString(o + 2), r.GetString(o + 3), r.GetBoolean(o + 4),
        r.IsDBNull(o + 5) ? null : r.GetFieldValue<DateTimeOffset>(o + 5), r.IsDBNull(o + 6) ? null : r.GetString(o + 6),
        r.GetFieldValue<DateTimeOffset>(o + 7), r.GetString(o + 8), r.GetFieldValue<DateTimeOffset>(o + 9), r.GetString(o + 10),
        r.GetInt32(o + 11));

    /// <summary>Creates a project, or returns null when the key is taken.</summary>
    public async Task<ProjectRow?> CreateAsync(string key, string title, string description, bool pinned, string actor, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand($"""
            INSERT INTO projects AS p (id, key, title, description, pinned, created_by, updated_by)
            VALUES (@id, @key, @title, @description, @pinned, @actor, @actor)
            ON CONFLICT (key) DO NOTHING
            RETURNING {Columns}
            """, connection, transaction);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("title", title);
        command.Parameters.AddWithValue("description", description);
        command.Parameters.AddWithValue("pinned", pinned);
        command.Parameters.AddWithValue("actor", actor);
        ProjectRow? row;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            row = await reader.ReadAsync(ct) ? Read(reader) : null;
        }
        if (row is null)
        {
            return null;
        }
        await EventLog.AppendAsync(connection, transaction, actor, EventKinds.ProjectCreated, row.Id, null,
            new JsonObject { ["key"] = row.Key, ["title"] = row.Title }, ct);
        await transaction.CommitAsync(ct);
        return row;
    }

    /// <summary>Finds a project by id or key (case-insensitive).</summary>
    public async Task<ProjectRow?> FindAsync(string reference, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM projects p
            WHERE (@id::uuid IS NOT NULL AND p.id = @id) OR p.key = upper(@key)
            """);
        command.Parameters.AddWithValue("id", NpgsqlTypes.NpgsqlDbType.Uuid, Guid.TryParse(reference, out var id) ? id : DBNull.Value);
        command.Parameters.AddWithValue("key", reference);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    /// <summary>Pinned first, then by key; <paramref name="afterKey"/> is the keyset cursor.</summary>
    public async Task<List<ProjectRow>> ListAsync(string? query, bool includeArchived, (bool Pinned, string Key)? after, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM projects p
            WHERE (@include_archived OR p.archived_at IS NULL)
              AND (@query::text IS NULL OR p.search @@ websearch_to_tsquery('simple', @query))
              AND (@after_key::text IS NULL OR (NOT p.pinned, p.key) > (NOT @after_pinned, @after_key))
            ORDER BY NOT p.pinned, p.key
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("include_archived", includeArchived);
        command.Parameters.AddWithValue("query", NpgsqlTypes.NpgsqlDbType.Text, (object?)query ?? DBNull.Value);
        command.Parameters.AddWithValue("after_key", NpgsqlTypes.NpgsqlDbType.Text, (object?)after?.Key ?? DBNull.Value);
        command.Parameters.AddWithValue("after_pinned", after?.Pinned ?? false);
        command.Parameters.AddWithValue("limit", limit);
        var rows = new List<ProjectRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(Read(reader));
        }
        return rows;
    }
}
