using Microsoft.AspNetCore.Mvc;

namespace TaskManager.Api.Http;

/// <summary>
/// The query of a keyset-paged list that reads either way (comments, history): page size, the previous page's
/// nextCursor, and <c>order=asc|desc</c>. Each may be left out.
/// </summary>
public sealed record PageQuery
{
    [FromQuery(Name = "limit")] public int? Limit { get; init; }

    [FromQuery(Name = "cursor")] public string? Cursor { get; init; }

    [FromQuery(Name = "order")] public string? Order { get; init; }
}
