using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Tasks;
using TaskManager.Api.Tasks.Leases;
using TaskManager.Api.Text;

namespace TaskManager.Api.Comments;

/// <summary>SQL for a task's work log. Adding a comment runs in one transaction with its history event.</summary>
public sealed class CommentStore(NpgsqlDataSource dataSource, EventSignal signal)
{
    /// <summary>The task's comments after <paramref name="after"/> (the keyset cursor), oldest or newest first.</summary>
    public async Task<List<CommentRow>> ListAsync(Guid taskId, Guid? after, bool newestFirst, int limit, CancellationToken ct)
    {
        // Ids are UUIDv7: in creation order.
        await using var command = dataSource.CreateCommand($"""
            SELECT id, author, body, created_at FROM task_comments
            WHERE task_id = @task_id AND (@after::uuid IS NULL OR {(newestFirst ? "id < @after" : "id > @after")})
            ORDER BY id {(newestFirst ? "DESC" : "ASC")}
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("task_id", taskId);
        command.Parameters.AddWithValue("after", NpgsqlDbType.Uuid, (object?)after ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit);
        return await command.ReadAllAsync(r => new CommentRow(r.GetGuid(0), r.GetString(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3)), ct);
    }

    /// <summary>
    /// Appends a comment by <paramref name="author"/> to the task's work log. A comment by the task's lease holder renews
    /// the lease (logging progress is working on it); one written under a lease that is no longer current
    /// (<paramref name="leaseId"/>) is refused.
    /// </summary>
    public async Task<WriteResult<CommentRow>> AddAsync(
        TaskRow task, string body, string author, Guid? leaseId, BeforeCommit<CommentRow>? beforeCommit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (leaseId is { } lease
            && await TaskRows.FindAsync(connection, transaction, new TaskReference(task.Id, null, 0), forUpdate: true, ct) is { } current
            && LeaseRules.Stale(current, lease) is { } stale)
        {
            return new WriteResult<CommentRow>.Conflict(stale.Detail, stale.Extensions);
        }
        await using (var renew = new NpgsqlCommand(LeaseStore.Renew + " AND lease_holder = @author AND lease_expires_at > now()", connection, transaction))
        {
            renew.Parameters.AddWithValue("task_id", task.Id);
            renew.Parameters.AddWithValue("author", author);
            await renew.ExecuteNonQueryAsync(ct);
        }
        await using var insert = new NpgsqlCommand("""
            INSERT INTO task_comments (id, task_id, author, body) VALUES (@id, @task_id, @author, @body)
            RETURNING created_at
            """, connection, transaction);
        var id = Guid.CreateVersion7();
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("task_id", task.Id);
        insert.Parameters.AddWithValue("author", author);
        insert.Parameters.AddWithValue("body", body);
        DateTimeOffset createdAt;
        await using (var reader = await insert.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            createdAt = reader.GetFieldValue<DateTimeOffset>(0);
        }
        await EventLog.AppendAsync(connection, transaction, author, EventKinds.CommentAdded, task.ProjectId, task.Id,
            new JsonObject { ["ref"] = task.Ref, ["commentId"] = id.ToString(), ["body"] = TextRules.Excerpt(body, 280) }, ct);
        var comment = new CommentRow(id, author, body, createdAt);
        if (beforeCommit is not null)
        {
            await beforeCommit(transaction, comment, ct);
        }
        await transaction.CommitAsync(signal, ct);
        return new WriteResult<CommentRow>.Done(comment);
    }
}
