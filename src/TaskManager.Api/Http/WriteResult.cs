using Microsoft.AspNetCore.Http.HttpResults;
using TaskManager.Api.Database;

namespace TaskManager.Api.Http;

/// <summary>What a write to an existing row came to.</summary>
public abstract record WriteResult<T>
{
    public sealed record Done(T Row) : WriteResult<T>;
    public sealed record NotFound : WriteResult<T>;
    public sealed record VersionMismatch(int CurrentVersion) : WriteResult<T>;
    public sealed record Invalid(string Field, string Detail) : WriteResult<T>;
    public sealed record Conflict(string Detail, IDictionary<string, object?>? Extensions = null) : WriteResult<T>;
}

public static class WriteResults
{
    /// <summary>The HTTP answer to a write: the row with its ETag, or the problem that stopped it.</summary>
    public static Results<Ok<TDto>, ValidationProblem, ProblemHttpResult> ToHttp<TRow, TDto>(
        this WriteResult<TRow> result, string what, Func<TRow, TDto> toDto, Func<TRow, int> version, HttpContext http) =>
        result switch
        {
            WriteResult<TRow>.Done done => Ok(done.Row, toDto, version, http),
            WriteResult<TRow>.NotFound => Problems.NotFound($"{what} does not exist."),
            WriteResult<TRow>.VersionMismatch mismatch => Problems.PreconditionFailed(what, mismatch.CurrentVersion),
            WriteResult<TRow>.Invalid invalid => Problems.Invalid(invalid.Field, invalid.Detail),
            WriteResult<TRow>.Conflict conflict => Problems.Conflict(conflict.Detail, conflict.Extensions),
            _ => throw new InvalidOperationException($"Unexpected write result {result}."),
        };

    /// <summary>For a keyed request: stores the answer <see cref="ToHttp"/> gives the finished write in its transaction.</summary>
    public static BeforeCommit<TRow>? RecordResponse<TRow, TDto>(this HttpContext http, Func<TRow, TDto> toDto, Func<TRow, int> version) =>
        http.RecordResponse<TRow>(row => Ok(row, toDto, version, http));

    private static Ok<TDto> Ok<TRow, TDto>(TRow row, Func<TRow, TDto> toDto, Func<TRow, int> version, HttpContext http)
    {
        Concurrency.SetETag(http, version(row));
        return TypedResults.Ok(toDto(row));
    }
}
