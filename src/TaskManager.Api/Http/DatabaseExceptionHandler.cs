using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace TaskManager.Api.Http;

/// <summary>
/// Database failures as problems, never a bare 500: what a request itself caused is a 4xx that says so; everything else
/// (the database down, unreachable, restarting, overloaded, timing out, or a concurrent change that won) is a 503
/// with Retry-After. Database messages are not echoed to clients.
/// </summary>
public sealed class DatabaseExceptionHandler(NpgsqlDataSource dataSource) : IExceptionHandler
{
    /// <summary>Seconds a client is asked to wait before retrying after a 503.</summary>
    public const int RetryAfterSeconds = 2;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (Classify(exception) is not { } answer)
        {
            return false;
        }
        var (status, title, detail) = answer;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
        }
        if (LostConnection(exception))
        {
            // The other idle connections of the pool went down with this one (a restart, a failover): drop them all,
            // so that the first requests after the database is back do not fail on stale connections. Off the request
            // path: Clear waits while another connection is cancelling a command, which against a server that does not
            // answer takes seconds (measured: 3 s added to every 503 of a frozen server).
            _ = Task.Run(dataSource.Clear, CancellationToken.None);
        }
        context.Response.StatusCode = status;
        return await Problems.WriteAsync(context, new ProblemDetails { Status = status, Title = title, Detail = detail }, exception);
    }

    /// <summary>The answer to a database failure, by SQLSTATE class; null for anything that is not one.</summary>
    public static (int Status, string Title, string Detail)? Classify(Exception exception) => exception switch
    {
        // Class 22, data exception: a value the database cannot store. Validation should have caught it first.
        PostgresException { SqlState: var s } when s.StartsWith("22", StringComparison.Ordinal) =>
            (StatusCodes.Status400BadRequest, "Bad request", "A value in the request cannot be stored (invalid characters or out of range)."),
        // Class 54, program limit exceeded: a request too large or too complex for one statement.
        PostgresException { SqlState: var s } when s.StartsWith("54", StringComparison.Ordinal) =>
            (StatusCodes.Status400BadRequest, "Bad request", "The request is too large or too complex to store; send less at once."),
        // Class 23, integrity constraint: the request lost a race with a concurrent change (checks run before writing).
        PostgresException { SqlState: var s } when s.StartsWith("23", StringComparison.Ordinal) =>
            (StatusCodes.Status409Conflict, "Conflict", "The request conflicts with a change made at the same time. Read the current state and retry."),
        PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure } =>
            (StatusCodes.Status503ServiceUnavailable, "Concurrent change", "The request collided with a concurrent change and was not applied. Retry it."),
        // Waited too long for a lock (lock_timeout) or for the statement (statement_timeout): someone else is in the way.
        PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled } =>
            (StatusCodes.Status503ServiceUnavailable, "Busy", "The database was busy with a conflicting change and the request was not applied. Retry it."),
        // Every other class is the server's: starting, shutting down, out of connections or resources, I/O, internal.
        PostgresException or NpgsqlException or TimeoutException when IsDatabaseFailure(exception) =>
            (StatusCodes.Status503ServiceUnavailable, "Database unavailable",
                $"The database is unavailable at the moment and the request was not applied. Retry in {RetryAfterSeconds} seconds."),
        _ => null,
    };

    private static bool LostConnection(Exception exception) => exception switch
    {
        PostgresException { SqlState: var s } => s.StartsWith("08", StringComparison.Ordinal) || s.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException => true,
        _ => exception.InnerException is NpgsqlException inner && LostConnection(inner),
    };

    private static bool IsDatabaseFailure(Exception exception) =>
        exception is NpgsqlException || exception.Source?.StartsWith("Npgsql", StringComparison.Ordinal) == true
            || exception.InnerException is NpgsqlException;
}
