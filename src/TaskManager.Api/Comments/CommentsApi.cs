using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using TaskManager.Api.Auth;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Comments;

public sealed record CommentDto(Guid Id, Guid TaskId, string TaskRef, string Author, string Body, DateTimeOffset CreatedAt);

public sealed record AddCommentRequest([property: Required] string? Body);

/// <summary>The work log of a task: append-only comments by people and agents, oldest first.</summary>
public static class CommentsApi
{
    public const int MaxBodyLength = 65536;

    public static RouteGroupBuilder MapCommentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks/{task}/comments").WithTags("Comments").RequireScope(Scopes.Read).WithApiConventions();
        group.MapGet("/", ListComments).WithName("ListComments")
            .WithSummary("Lists a task's comments, oldest first (order=desc: newest first); keyset-paged.")
            .AcceptsQuery("limit", "cursor", "order")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", AddComment).WithName("AddComment").WithSummary("Appends a comment (markdown) to a task's work log.")
            .RequireScope(Scopes.Write).WithIdempotency()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Results<Ok<Page<CommentDto>>, ValidationProblem, ProblemHttpResult>> ListComments(
        string task, int? limit, string? cursor, string? order, TaskStore tasks, NpgsqlDataSource dataSource, CancellationToken ct)
    {
        var validation = new Validation();
        Paging.ValidateLimit(limit, validation);
        var newestFirst = Paging.ReadOrder(order, validation);
        var after = Paging.DecodeSingle<Guid>(cursor, validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }
        if (await FindTaskAsync(task, tasks, ct) is not { } row)
        {
            return TaskNotFound(task);
        }

        var pageSize = limit ?? Paging.DefaultLimit;
        // Ids are UUIDv7: in creation order.
        await using var command = dataSource.CreateCommand($"""
            SELECT id, author, body, created_at FROM task_comments
            WHERE task_id = @task_id AND (@after::uuid IS NULL OR {(newestFirst ? "id < @after" : "id > @after")})
            ORDER BY id {(newestFirst ? "DESC" : "ASC")}
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("task_id", row.Id);
        command.Parameters.AddWithValue("after", NpgsqlTypes.NpgsqlDbType.Uuid, (object?)after ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", pageSize + 1);
        var comments = await command.ReadAllAsync(
            r => new CommentDto(r.GetGuid(0), row.Id, row.Ref, r.GetString(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3)), ct);
        var next = comments.Count > pageSize ? Paging.Encode(comments[pageSize - 1].Id.ToString()) : null;
        return TypedResults.Ok(new Page<CommentDto>([.. comments.Take(pageSize)], next));
    }

    public static async Task<Results<Created<CommentDto>, ValidationProblem, ProblemHttpResult>> AddComment(
        string task, AddCommentRequest request, TaskStore tasks, NpgsqlDataSource dataSource, EventSignal signal, ClaimsPrincipal user, CancellationToken ct)
    {
        var body = request.Body?.Trim() ?? "";
        if (body.Length == 0)
        {
            return Problems.Invalid("body", "body is required: the comment text (markdown).");
        }
        if (body.Length > MaxBodyLength)
        {
            return Problems.Invalid("body", $"body must be at most {MaxBodyLength} characters (got {body.Length}).");
        }
        if (await FindTaskAsync(task, tasks, ct) is not { } row)
        {
            return TaskNotFound(task);
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var insert = new NpgsqlCommand("""
            INSERT INTO task_comments (id, task_id, author, body) VALUES (@id, @task_id, @author, @body)
            RETURNING created_at
            """, connection, transaction);
        var id = Guid.CreateVersion7();
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("task_id", row.Id);
        insert.Parameters.AddWithValue("author", user.Actor());
        insert.Parameters.AddWithValue("body", body);
        DateTimeOffset createdAt;
        await using (var reader = await insert.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            createdAt = reader.GetFieldValue<DateTimeOffset>(0);
        }
        await EventLog.AppendAsync(connection, transaction, user.Actor(), EventKinds.CommentAdded, row.ProjectId, row.Id,
            new JsonObject { ["ref"] = row.Ref, ["commentId"] = id.ToString(), ["body"] = Excerpt(body) }, ct);
        await transaction.CommitAsync(signal, ct);

        return TypedResults.Created($"/api/tasks/{row.Ref}/comments", new CommentDto(id, row.Id, row.Ref, user.Actor(), body, createdAt));
    }

    /// <summary>The start of a comment for history, cut between characters (never inside a surrogate pair).</summary>
    private static string Excerpt(string body)
    {
        const int length = 280;
        if (body.Length <= length)
        {
            return body;
        }
        var cut = char.IsHighSurrogate(body[length - 1]) ? length - 1 : length;
        return body[..cut] + "…";
    }

    private static async Task<TaskRow?> FindTaskAsync(string task, TaskStore tasks, CancellationToken ct) =>
        TaskReference.TryParse(task, out var reference) ? await tasks.FindAsync(reference, ct) : null;

    private static ProblemHttpResult TaskNotFound(string task) =>
        TaskReference.TryParse(task, out _) ? Problems.NotFound($"Task '{task}' does not exist.") : Problems.BadRequest(TaskReference.Describe(task));
}
