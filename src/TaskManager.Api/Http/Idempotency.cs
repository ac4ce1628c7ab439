using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskManager.Api.Auth;
using TaskManager.Api.Comments;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Http;

/// <summary>
/// <c>Idempotency-Key</c> on creates: the same key and body within 24 hours replays the first response (same status,
/// headers and body) and creates nothing; the same key with another body is a 422. Clients retry safely, and so do
/// our own resilience handlers. Keys belong to the calling actor.
/// </summary>
public static class Idempotency
{
    public const string HeaderName = "Idempotency-Key";
    public const int MaxKeyLength = 200;
    internal static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<IdempotencyFilter>()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

    public static WebApplicationBuilder AddIdempotency(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IdempotencyStore>();
        builder.Services.AddHostedService<ExpiredKeyCleanup>();
        return builder;
    }

    private sealed class ExpiredKeyCleanup(IdempotencyStore store, ILogger<ExpiredKeyCleanup> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
            do
            {
                try
                {
                    await store.DeleteExpiredAsync(stoppingToken);
                }
                catch (NpgsqlException e)
                {
                    logger.LogWarning(e, "Could not delete expired idempotency keys; will try again");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
    }
}

/// <summary>A stored response: status, Location, ETag and JSON body.</summary>
public sealed record StoredResponse(int StatusCode, string? Location, string? ETag, string Body);

public sealed class IdempotencyStore(NpgsqlDataSource dataSource)
{
    /// <summary>A pending claim older than this belongs to a request that died; another may take the key over.</summary>
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromSeconds(60);

    public abstract record Claim
    {
        public sealed record Claimed : Claim;
        public sealed record Pending : Claim;
        public sealed record Mismatch : Claim;
        public sealed record Completed(StoredResponse Response) : Claim;
    }

    public async Task<Claim> TryClaimAsync(string actor, string key, byte[] requestHash, CancellationToken ct)
    {
        while (true)
        {
            await using var insert = dataSource.CreateCommand("""
                INSERT INTO idempotency_keys (actor, key, request_hash) VALUES (@actor, @key, @hash)
                ON CONFLICT (actor, key) DO NOTHING
                """);
            insert.Parameters.AddWithValue("actor", actor);
            insert.Parameters.AddWithValue("key", key);
            insert.Parameters.AddWithValue("hash", requestHash);
            if (await insert.ExecuteNonQueryAsync(ct) == 1)
            {
                return new Claim.Claimed();
            }

            await using var select = dataSource.CreateCommand("""
                SELECT request_hash, status_code, location, etag, body, created_at,
                       now() - created_at > @lifetime OR (status_code IS NULL AND now() - created_at > @abandoned) AS stale
                FROM idempotency_keys WHERE actor = @actor AND key = @key
                """);
            select.Parameters.AddWithValue("actor", actor);
            select.Parameters.AddWithValue("key", key);
            select.Parameters.AddWithValue("lifetime", Idempotency.Lifetime);
            select.Parameters.AddWithValue("abandoned", AbandonedAfter);
            await using var reader = await select.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                continue; // Deleted in between: claim again.
            }
            if (reader.GetBoolean(6))
            {
                var createdAt = reader.GetFieldValue<DateTimeOffset>(5);
                await reader.DisposeAsync();
                await DeleteAsync(actor, key, createdAt, ct);
                continue;
            }
            if (!reader.GetFieldValue<byte[]>(0).AsSpan().SequenceEqual(requestHash))
            {
                return new Claim.Mismatch();
            }
            if (reader.IsDBNull(1))
            {
                return new Claim.Pending();
            }
            return new Claim.Completed(new StoredResponse(
                reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4)));
        }
    }

    public async Task CompleteAsync(string actor, string key, StoredResponse response, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE idempotency_keys SET status_code = @status, location = @location, etag = @etag, body = @body
            WHERE actor = @actor AND key = @key
            """);
        command.Parameters.AddWithValue("actor", actor);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("status", response.StatusCode);
        command.Parameters.AddWithValue("location", (object?)response.Location ?? DBNull.Value);
        command.Parameters.AddWithValue("etag", (object?)response.ETag ?? DBNull.Value);
        command.Parameters.AddWithValue("body", response.Body);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Gives up a pending claim, so that a retry of a request that failed runs afresh.</summary>
    public async Task ReleaseAsync(string actor, string key)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM idempotency_keys WHERE actor = @actor AND key = @key AND status_code IS NULL");
        command.Parameters.AddWithValue("actor", actor);
        command.Parameters.AddWithValue("key", key);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    public async Task DeleteExpiredAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM idempotency_keys WHERE created_at < now() - @lifetime");
        command.Parameters.AddWithValue("lifetime", Idempotency.Lifetime);
        await command.ExecuteNonQueryAsync(ct);
    }

    private async Task DeleteAsync(string actor, string key, DateTimeOffset createdAt, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM idempotency_keys WHERE actor = @actor AND key = @key AND created_at = @created_at");
        command.Parameters.AddWithValue("actor", actor);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("created_at", createdAt);
        await command.ExecuteNonQueryAsync(ct);
    }
}

internal sealed class IdempotencyFilter(IdempotencyStore store, IOptions<JsonOptions> json) : IEndpointFilter
{
    /// <summary>How long a retry waits for the first request with its key to finish.</summary>
    private static readonly TimeSpan WaitForPending = TimeSpan.FromSeconds(10);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var key = http.Request.Headers[Idempotency.HeaderName].ToString();
        if (key.Length == 0)
        {
            return await next(context);
        }
        if (key.Length > Idempotency.MaxKeyLength || key.Any(char.IsControl))
        {
            return Problems.Invalid(Idempotency.HeaderName, $"{Idempotency.HeaderName} must be 1 to {Idempotency.MaxKeyLength} printable characters.");
        }

        var actor = http.User.Actor();
        var hash = RequestHash(context);
        var deadline = DateTime.UtcNow + WaitForPending;
        while (true)
        {
            switch (await store.TryClaimAsync(actor, key, hash, http.RequestAborted))
            {
                case IdempotencyStore.Claim.Completed completed:
                    return new ReplayResult(completed.Response);
                case IdempotencyStore.Claim.Mismatch:
                    return TypedResults.Problem(
                        $"{Idempotency.HeaderName} '{key}' was already used with a different request. Use a new key for a new request.",
                        statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency key reused");
                case IdempotencyStore.Claim.Pending when DateTime.UtcNow < deadline:
                    await Task.Delay(TimeSpan.FromMilliseconds(100), http.RequestAborted);
                    continue;
                case IdempotencyStore.Claim.Pending:
                    return Problems.Conflict($"A request with {Idempotency.HeaderName} '{key}' is still being processed. Retry in a moment.");
            }
            break;
        }

        var completedNormally = false;
        try
        {
            var result = await next(context);
            if (Describe(result, http) is { } response)
            {
                await store.CompleteAsync(actor, key, response, CancellationToken.None);
                completedNormally = true;
            }
            return result;
        }
        finally
        {
            if (!completedNormally)
            {
                await store.ReleaseAsync(actor, key);
            }
        }
    }

    /// <summary>The request's identity: method, path and the bound request bodies, serialized the same way every time.</summary>
    private byte[] RequestHash(EndpointFilterInvocationContext context)
    {
        var text = new StringBuilder($"{context.HttpContext.Request.Method} {context.HttpContext.Request.Path}\n");
        foreach (var argument in context.Arguments)
        {
            if (argument is not null && argument.GetType().Name.EndsWith("Request", StringComparison.Ordinal)
                && argument.GetType().Namespace?.StartsWith("TaskManager.", StringComparison.Ordinal) == true)
            {
                text.Append(JsonSerializer.Serialize(argument, json.Value.SerializerOptions.GetTypeInfo(argument.GetType()))).Append('\n');
            }
        }
        return SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>A successful result to keep for replay, or null for anything else (which is not kept).</summary>
    private StoredResponse? Describe(object? result, HttpContext http)
    {
        while (result is INestedHttpResult nested)
        {
            result = nested.Result;
        }
        if (result is not (IStatusCodeHttpResult { StatusCode: >= 200 and < 300 } status and IValueHttpResult { Value: { } value }))
        {
            return null;
        }
        var etag = http.Response.Headers.ETag.ToString();
        return new StoredResponse(status.StatusCode!.Value, Location(result), etag.Length == 0 ? null : etag,
            JsonSerializer.Serialize(value, json.Value.SerializerOptions.GetTypeInfo(value.GetType())));
    }

    /// <summary>
    /// Created&lt;T&gt; has Location on the concrete generic type only; named here rather than found by reflection, which
    /// Native AOT may have trimmed. A create endpoint with idempotency needs its result listed.
    /// </summary>
    private static string? Location(object result) => result switch
    {
        Created<ProjectDto> created => created.Location,
        Created<TaskDto> created => created.Location,
        Created<CommentDto> created => created.Location,
        IStatusCodeHttpResult { StatusCode: StatusCodes.Status201Created } => throw new InvalidOperationException(
            $"{result.GetType()} is not listed in {nameof(IdempotencyFilter)}.{nameof(Location)}: its Location would be lost on replay."),
        _ => null,
    };

    private sealed class ReplayResult(StoredResponse response) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = response.StatusCode;
            if (response.Location is not null)
            {
                httpContext.Response.Headers.Location = response.Location;
            }
            if (response.ETag is not null)
            {
                httpContext.Response.Headers.ETag = response.ETag;
            }
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            return httpContext.Response.WriteAsync(response.Body);
        }
    }
}
