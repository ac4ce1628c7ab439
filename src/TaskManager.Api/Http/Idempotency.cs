using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Npgsql;
using TaskManager.Api.Auth;
using TaskManager.Api.Comments;
using TaskManager.Api.Database;
using TaskManager.Api.Plans;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Http;

/// <summary>
/// <c>Idempotency-Key</c> on writes: the same key and body within 24 hours replays the first response (same status,
/// headers and body) and changes nothing; the same key with another body is a 422. The key and its response are stored
/// in the write's own transaction, so a reply lost to a timeout, a crash or an outage is always safe to retry. Keys
/// belong to the calling actor.
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

    private sealed class ExpiredKeyCleanup(IdempotencyStore store, StartupState startup, ILogger<ExpiredKeyCleanup> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await startup.WhenMigrated.WaitAsync(stoppingToken);
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

/// <summary>
/// The key of the request being handled, for its write to record the response in its own transaction
/// (<see cref="IdempotencyExtensions.RecordResponse{TRow}"/>): a key exists only together with the change it stands for.
/// </summary>
public sealed class IdempotentRequest(string actor, string key, byte[] requestHash, Func<object?, HttpContext, StoredResponse?> describe)
{
    /// <summary>Whether the handler's write stored the response (a write that never committed stores none).</summary>
    public bool Recorded { get; private set; }

    /// <summary>
    /// Inserts the key with its response. A concurrent request with the same key that got here first makes this wait
    /// for its commit and then fail with a unique violation, which rolls this write back.
    /// </summary>
    internal async Task RecordAsync(NpgsqlTransaction transaction, object? result, HttpContext http, CancellationToken ct)
    {
        var response = describe(result, http)
            ?? throw new InvalidOperationException($"A keyed write committed without a 2xx response to keep ({result?.GetType()}).");
        await using var insert = new NpgsqlCommand("""
            INSERT INTO idempotency_keys (actor, key, request_hash, status_code, location, etag, body)
            VALUES (@actor, @key, @hash, @status, @location, @etag, @body)
            """, transaction.Connection, transaction);
        insert.Parameters.AddWithValue("actor", actor);
        insert.Parameters.AddWithValue("key", key);
        insert.Parameters.AddWithValue("hash", requestHash);
        insert.Parameters.AddWithValue("status", response.StatusCode);
        insert.Parameters.AddWithValue("location", (object?)response.Location ?? DBNull.Value);
        insert.Parameters.AddWithValue("etag", (object?)response.ETag ?? DBNull.Value);
        insert.Parameters.AddWithValue("body", response.Body);
        await insert.ExecuteNonQueryAsync(ct);
        Recorded = true;
    }
}

public static class IdempotencyExtensions
{
    /// <summary>
    /// For a write of a keyed request: stores the response <paramref name="respond"/> makes of the written row in the
    /// write's own transaction, just before it commits. Null when the request has no key.
    /// </summary>
    public static BeforeCommit<TRow>? RecordResponse<TRow>(this HttpContext http, Func<TRow, IResult> respond) =>
        http.Features.Get<IdempotentRequest>() is { } keyed
            ? (transaction, row, ct) => keyed.RecordAsync(transaction, respond(row), http, ct)
            : null;
}

public sealed class IdempotencyStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Rows without a response were written by versions that claimed a key before the write; one older than this
    /// belongs to a request that died.
    /// </summary>
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromSeconds(60);

    public abstract record Lookup
    {
        public sealed record Unused : Lookup;
        public sealed record Pending : Lookup;
        public sealed record Mismatch : Lookup;
        public sealed record Completed(StoredResponse Response) : Lookup;
    }

    /// <summary>What the key stands for: nothing yet (expired keys are deleted), another request, or a response to replay.</summary>
    public async Task<Lookup> FindAsync(string actor, string key, byte[] requestHash, CancellationToken ct)
    {
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
            return new Lookup.Unused();
        }
        if (reader.GetBoolean(6))
        {
            var createdAt = reader.GetFieldValue<DateTimeOffset>(5);
            await reader.DisposeAsync();
            await DeleteAsync(actor, key, createdAt, ct);
            return new Lookup.Unused();
        }
        if (!reader.GetFieldValue<byte[]>(0).AsSpan().SequenceEqual(requestHash))
        {
            return new Lookup.Mismatch();
        }
        if (reader.IsDBNull(1))
        {
            return new Lookup.Pending();
        }
        return new Lookup.Completed(new StoredResponse(
            reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4)));
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
    /// <summary>How long a request waits for a key written by an older version's request to finish.</summary>
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
            switch (await store.FindAsync(actor, key, hash, http.RequestAborted))
            {
                case IdempotencyStore.Lookup.Completed completed:
                    return new ReplayResult(completed.Response);
                case IdempotencyStore.Lookup.Mismatch:
                    return TypedResults.Problem(
                        $"{Idempotency.HeaderName} '{key}' was already used with a different request. Use a new key for a new request.",
                        statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency key reused");
                case IdempotencyStore.Lookup.Pending when DateTime.UtcNow < deadline:
                    await Task.Delay(TimeSpan.FromMilliseconds(100), http.RequestAborted);
                    continue;
                case IdempotencyStore.Lookup.Pending:
                    return Problems.Conflict($"A request with {Idempotency.HeaderName} '{key}' is still being processed. Retry in a moment.");
            }

            // The handler's write inserts the key with its response before it commits (RecordResponse); a failure
            // anywhere rolls both back, so nothing is ever released or taken over.
            var keyed = new IdempotentRequest(actor, key, hash, Describe);
            http.Features.Set(keyed);
            try
            {
                var result = await next(context);
                if (keyed.Recorded)
                {
                    return result;
                }
                if (Describe(result, http) is not null)
                {
                    throw new InvalidOperationException(
                        $"{http.GetEndpoint()?.DisplayName} answered a keyed request with success but its write did not record the response (RecordResponse).");
                }
                // Refused (a 412, say) because a request with this key committed while this one ran: that is the
                // answer to give. A 204 also lands here: it changed nothing.
                if (await store.FindAsync(actor, key, hash, http.RequestAborted) is IdempotencyStore.Lookup.Completed completed)
                {
                    http.Response.Headers.Remove(HeaderNames.ETag);
                    return new ReplayResult(completed.Response);
                }
                return result;
            }
            catch (PostgresException e) when (e is { SqlState: PostgresErrorCodes.UniqueViolation, TableName: "idempotency_keys" })
            {
                // A request with the same key committed first, and this one's write was rolled back: answer as it did.
                http.Response.Headers.Remove(HeaderNames.ETag);
                http.Features.Set<IdempotentRequest>(null);
            }
        }
    }

    /// <summary>
    /// The request's identity: method, path, the version it expects (If-Match) and the bound request bodies, serialized
    /// the same way every time.
    /// </summary>
    private byte[] RequestHash(EndpointFilterInvocationContext context)
    {
        var request = context.HttpContext.Request;
        var text = new StringBuilder($"{request.Method} {request.Path}\nIf-Match: {request.Headers.IfMatch}\n");
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
        Created<PlanDto> created => created.Location,
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
