using System.ComponentModel.DataAnnotations;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Comments;

/// <summary>A comment as stored.</summary>
public sealed record CommentRow(Guid Id, string Author, string Body, DateTimeOffset CreatedAt);

/// <summary>A comment on the wire, with the task it belongs to.</summary>
public sealed record CommentDto(Guid Id, Guid TaskId, string TaskRef, string Author, string Body, DateTimeOffset CreatedAt)
{
    public static CommentDto From(TaskRow task, CommentRow row) => new(row.Id, task.Id, task.Ref, row.Author, row.Body, row.CreatedAt);
}

public sealed record AddCommentRequest([property: Required] string? Body);
