using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Auth;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;
using TaskManager.Api.Tasks.Leases;
using TaskManager.Api.Text;

namespace TaskManager.Api.Comments;

/// <summary>The work log of a task: append-only comments by people and agents, oldest first.</summary>
public static class CommentsApi
{
    public const int MaxBodyLength = 65536;

    public static RouteGroupBuilder MapCommentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks/{task}/comments").WithTags("Comments").RequireScope(Scopes.Read).WithApiConventions();
        group.MapGet("/", ListComments).WithName("ListComments")
            .WithSummary("Lists a task's comments, oldest first (order=desc: newest first); keyset-paged.")
            .RejectsUnknownQuery()
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", AddComment).WithName("AddComment").WithSummary("Appends a comment (markdown) to a task's work log.")
            .RequireScope(Scopes.Write).WithIdempotency()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static async Task<Results<Ok<Page<CommentDto>>, ValidationProblem, ProblemHttpResult>> ListComments(
        string task, [AsParameters] PageQuery page, TaskStore tasks, CommentStore comments, CancellationToken ct)
    {
        var validation = new Validation();
        Paging.ValidateLimit(page.Limit, validation);
        var newestFirst = Paging.ReadOrder(page.Order, validation);
        var after = Paging.DecodeSingle<Guid>(page.Cursor, validation);
        if (!validation.IsValid)
        {
            return validation.Problem();
        }
        if (await FindTaskAsync(task, tasks, ct) is not { } row)
        {
            return TaskNotFound(task);
        }

        var pageSize = page.Limit ?? Paging.DefaultLimit;
        var rows = await comments.ListAsync(row.Id, after, newestFirst, pageSize + 1, ct);
        var next = rows.Count > pageSize ? Paging.Encode(rows[pageSize - 1].Id.ToString()) : null;
        return TypedResults.Ok(new Page<CommentDto>([.. rows.Take(pageSize).Select(c => CommentDto.From(row, c))], next));
    }

    public static async Task<Results<Created<CommentDto>, ValidationProblem, ProblemHttpResult>> AddComment(
        string task, AddCommentRequest request, TaskStore tasks, CommentStore comments, ClaimsPrincipal user, HttpContext http, CancellationToken ct)
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
        if (TextRules.Problem(request.Body!, "body", multiLine: true) is { } unsafeText)
        {
            return Problems.Invalid("body", unsafeText);
        }
        if (LeaseRules.ReadHeader(http.Request, out var leaseId) is { } badLease)
        {
            return badLease;
        }
        if (await FindTaskAsync(task, tasks, ct) is not { } row)
        {
            return TaskNotFound(task);
        }

        return await comments.AddAsync(row, body, user.Actor(), leaseId, http.RecordResponse<CommentRow>(c => Created(row, c)), ct) switch
        {
            WriteResult<CommentRow>.Done done => Created(row, done.Row),
            WriteResult<CommentRow>.Conflict conflict => Problems.Conflict(conflict.Detail, conflict.Extensions),
            var other => throw new InvalidOperationException($"A comment came to {other}."),
        };
    }

    private static Created<CommentDto> Created(TaskRow task, CommentRow comment) =>
        TypedResults.Created($"/api/tasks/{task.Ref}/comments", CommentDto.From(task, comment));

    private static async Task<TaskRow?> FindTaskAsync(string task, TaskStore tasks, CancellationToken ct) =>
        TaskReference.TryParse(task, out var reference) ? await tasks.FindAsync(reference, ct) : null;

    private static ProblemHttpResult TaskNotFound(string task) =>
        TaskReference.TryParse(task, out _) ? Problems.NotFound($"Task '{task}' does not exist.") : Problems.BadRequest(TaskReference.Describe(task));
}
