using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using TaskManager.Api.Auth;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Events;

/// <summary>History (per task, per project) and the live event stream.</summary>
public static class EventsApi
{

    public static RouteGroupBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api").WithTags("History and events").RequireScope(Scopes.Read).WithApiConventions();

        group.MapGet("/tasks/{task}/history", TaskHistory).WithName("TaskHistory")
            .WithSummary("A task's history, oldest first (order=desc: newest first): every change with actor, time and old → new values.")
            .RejectsUnknownQuery()
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/projects/{project}/history", ProjectHistory).WithName("ProjectHistory")
            .WithSummary("A project's history, oldest first (order=desc: newest first): changes to the project and to all of its tasks.")
            .RejectsUnknownQuery()
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/events", StreamEvents).WithName("StreamEvents")
            .WithSummary("Server-Sent Events: every change as it commits (event id = history id). Last-Event-ID resumes after that event.")
            .WithDescription("Browsers' EventSource cannot send headers: instead of the token it passes a ticket from POST /api/events/tickets " +
                "(single use, valid for a minute) and the resume point as lastEventId in the query. A resume further back than " +
                "Limits:MaxReplayEvents (10,000 by default) is refused with 410 before the stream opens: start afresh.")
            .RejectsUnknownQuery(alsoAccepted: StreamTickets.QueryName)
            .LimitedAsLiveStream()
            .ProducesProblem(StatusCodes.Status410Gone);
        group.MapPost("/events/tickets", IssueStreamTicket).WithName("IssueStreamTicket")
            .WithSummary("A single-use ticket, valid for a minute, that opens the event stream as the calling token (for EventSource, which cannot send headers).");
        return group;
    }

    public static async Task<Results<Ok<Page<EventDto>>, ValidationProblem, ProblemHttpResult>> TaskHistory(
        string task, [AsParameters] PageQuery page, TaskStore tasks, EventStore events, HttpContext http, CancellationToken ct)
    {
        if (!TaskReference.TryParse(task, out var reference))
        {
            return Problems.BadRequest(TaskReference.Describe(task));
        }
        if (!TryReadPaging(page, out var paging, out var problem))
        {
            return problem;
        }
        if (await tasks.FindAsync(reference, ct) is not { } row)
        {
            return Problems.NotFound($"Task '{task}' does not exist.");
        }
        return TypedResults.Ok(await PageAsync(http, events, row.ProjectId, row.Id, paging, page.Limit, ct));
    }

    public static async Task<Results<Ok<Page<EventDto>>, ValidationProblem, ProblemHttpResult>> ProjectHistory(
        string project, [AsParameters] PageQuery page, ProjectStore projects, EventStore events, HttpContext http, CancellationToken ct)
    {
        if (!TryReadPaging(page, out var paging, out var problem))
        {
            return problem;
        }
        if (await projects.FindAsync(project, ct) is not { } row)
        {
            return Problems.NotFound($"Project '{project}' does not exist.");
        }
        return TypedResults.Ok(await PageAsync(http, events, row.Id, null, paging, page.Limit, ct));
    }

    public static async Task<Ok<StreamTicketDto>> IssueStreamTicket(HttpContext http, StreamTickets tickets, CancellationToken ct)
    {
        var (ticket, expiresAt) = await tickets.IssueAsync(http.Caller(), ct);
        return TypedResults.Ok(new StreamTicketDto(ticket, expiresAt));
    }

    public static async Task<Results<ServerSentEventsResult<EventDto>, ValidationProblem, ProblemHttpResult>> StreamEvents(
        HttpRequest request, [FromQuery] string? project, [FromQuery] long? lastEventId, ProjectStore projects, EventStore events,
        EventBroadcaster broadcaster, IOptions<EventStreamOptions> options, IOptions<LimitsOptions> limits, TokenValidator tokens,
        CancellationToken ct)
    {
        var validation = new Validation();
        Guid? projectId = null;
        if (project is not null && (projectId = (await projects.FindAsync(project, ct))?.Id) is null)
        {
            validation.Add("project", $"Project '{project}' does not exist.");
        }
        var header = request.Headers["Last-Event-ID"].ToString();
        long? resumeAfter = lastEventId;
        if (lastEventId < 0)
        {
            validation.Add("lastEventId", "lastEventId must be the id of an event this stream sent.");
        }
        if (header.Length > 0)
        {
            if (long.TryParse(header, out var fromHeader) && fromHeader >= 0)
            {
                resumeAfter = fromHeader;
            }
            else
            {
                validation.Add("Last-Event-ID", "Last-Event-ID must be the id of an event this stream sent.");
            }
        }
        EventPosition? resumeAt = null;
        if (validation.IsValid && resumeAfter is { } id && (resumeAt = await events.ResumePointAsync(id, ct)) is null)
        {
            validation.Add(header.Length > 0 ? "Last-Event-ID" : "lastEventId", $"There is no event {id}: resume with the id of an event this stream sent, or 0 for all.");
        }
        if (!validation.IsValid)
        {
            return validation.Problem();
        }
        // Refused before the stream opens, which is what tells a board (live.js) to start afresh and reload.
        if (resumeAt is { } from && limits.Value is { Enabled: true, MaxReplayEvents: var maxReplay }
            && await events.CountAfterAsync(projectId, from, maxReplay + 1, ct) > maxReplay)
        {
            return TypedResults.Problem(
                $"More than {maxReplay} events followed event {resumeAfter}, too many to replay. Start afresh: read the current " +
                "state (GET /api/tasks) and open the stream without a resume point; history pages (GET …/history) hold the events missed.",
                statusCode: StatusCodes.Status410Gone, title: "Too far behind to resume");
        }
        return TypedResults.ServerSentEvents(Stream(request.HttpContext, options.Value.KeepAlive, tokens, projectId, resumeAt, events, broadcaster, ct));
    }

    /// <summary>
    /// Subscribes before replaying, so nothing committed in between is missed; events the replay already sent are
    /// skipped when they arrive live. The response headers go out once the subscription exists, so a client that has
    /// them knows every later change will reach it. Events go out in log order (see <see cref="EventPosition"/>), and
    /// only released ones, so a client resuming after any event it received misses nothing.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<EventDto>> Stream(
        HttpContext http, TimeSpan keepAlive, TokenValidator tokens, Guid? projectId, EventPosition? resumeAt,
        EventStore events, EventBroadcaster broadcaster,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var response = http.Response;
        using var subscription = broadcaster.Subscribe();
        // Without a resume point the stream carries exactly the changes committed after it subscribed.
        // Resuming after an event this stream sent (always released) misses nothing; after an id read from history
        // that is not released yet, the replay starts a little earlier (EventStore.ResumePointAsync) and may repeat a
        // few events the client has (same ids).
        var (lastSent, alreadyCommitted) = resumeAt is { } resume
            ? (resume, CommittedBefore.Nothing)
            : await events.StartingPointAsync(ct);
        // An SSE comment line: sends the headers and tells the client the stream is live before any event exists.
        await response.Body.WriteAsync(": subscribed\n\n"u8.ToArray(), ct);
        await response.Body.FlushAsync(ct);
        if (resumeAt is not null)
        {
            // Up to the first event not yet released: the live subscription brings it once it is.
            var more = true;
            while (more)
            {
                var replay = await events.ListAsync(projectId, null, lastSent, newestFirst: false, Paging.MaxLimit, ct);
                more = replay.Count == Paging.MaxLimit;
                foreach (var e in replay)
                {
                    if (!e.Released)
                    {
                        more = false;
                        break;
                    }
                    lastSent = e.Position;
                    yield return Item(e.Event);
                }
            }
        }

        var access = new AccessCheck(http.Caller(), tokens, keepAlive);
        var lastWrite = DateTime.UtcNow;
        while (true)
        {
            var quiet = keepAlive - (DateTime.UtcNow - lastWrite);
            var arrived = await WaitAsync(subscription.Reader, quiet > TimeSpan.Zero ? quiet : TimeSpan.Zero, ct);
            if (arrived is false)
            {
                yield break; // Ended by the broadcaster (the client was too far behind): it resumes with Last-Event-ID.
            }
            // Re-checked while busy too, not only when idle.
            if (!await access.StillValidAsync(ct))
            {
                yield break;
            }
            while (subscription.Reader.TryRead(out var e))
            {
                if (e.Position > lastSent && (projectId is null || e.Event.ProjectId == projectId) && !alreadyCommitted.Contains(e.Position))
                {
                    lastSent = e.Position;
                    lastWrite = DateTime.UtcNow;
                    yield return Item(e.Event);
                }
            }
            // Filtered-out traffic writes nothing: keep the connection from looking idle to proxies.
            if (DateTime.UtcNow - lastWrite >= keepAlive)
            {
                await response.Body.WriteAsync(": keep-alive\n\n"u8.ToArray(), ct);
                await response.Body.FlushAsync(ct);
                lastWrite = DateTime.UtcNow;
            }
        }
    }

    /// <summary>True when events are waiting, false when the channel was completed, null when <paramref name="timeout"/> passed.</summary>
    private static async Task<bool?> WaitAsync(ChannelReader<StoredEvent> reader, TimeSpan timeout, CancellationToken ct)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(timeout);
        try
        {
            return await reader.WaitToReadAsync(idle.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// Authentication ran once, when the stream opened; this re-checks the token at most once per interval, so that a
    /// revoked or expired token loses its stream within that time.
    /// </summary>
    private sealed class AccessCheck(Caller caller, TokenValidator tokens, TimeSpan interval)
    {
        private DateTime _next = DateTime.UtcNow + interval;

        public async Task<bool> StillValidAsync(CancellationToken ct)
        {
            if (DateTime.UtcNow < _next)
            {
                return true;
            }
            _next = DateTime.UtcNow + interval;
            return await tokens.ValidateHashAsync(caller.TokenHash, ct) is not null;
        }
    }

    private static SseItem<EventDto> Item(EventDto e) => new(e, e.Kind) { EventId = e.Id.ToString() };

    private static bool TryReadPaging(PageQuery page, out (EventPosition? Cursor, bool NewestFirst) paging, out ValidationProblem problem)
    {
        var validation = new Validation();
        Paging.ValidateLimit(page.Limit, validation);
        var newestFirst = Paging.ReadOrder(page.Order, validation);
        EventPosition? position = null;
        if (page.Cursor is not null)
        {
            if (Paging.Decode(page.Cursor, 2) is [var xact, var id] && long.TryParse(xact, out var x) && long.TryParse(id, out var i) && x >= 0 && i >= 0)
            {
                position = new EventPosition(x, i);
            }
            else
            {
                validation.Add("cursor", Paging.BadCursor);
            }
        }
        paging = (position, newestFirst);
        problem = validation.Problem();
        return validation.IsValid;
    }

    /// <summary>
    /// A page of history. Oldest first, the page shows every committed event (your own write included), but a next
    /// cursor only ever points at a released one: the unreleased tail of a full page is left for the next page, where
    /// anything that commits before it meanwhile will also be. When a whole page waits for an older transaction (a
    /// rare moment), it is read again for up to half a second; past that the page is empty, with the same cursor and
    /// a Retry-After.
    /// </summary>
    private static async Task<Page<EventDto>> PageAsync(
        HttpContext http, EventStore events, Guid projectId, Guid? taskId, (EventPosition? Cursor, bool NewestFirst) paging, int? limit, CancellationToken ct)
    {
        var pageSize = limit ?? Paging.DefaultLimit;
        for (var attempt = 1; ; attempt++)
        {
            var rows = await events.ListAsync(projectId, taskId, paging.Cursor, paging.NewestFirst, pageSize + 1, ct);
            if (rows.Count <= pageSize)
            {
                return new Page<EventDto>([.. rows.Select(r => r.Event)], null);
            }
            var page = rows.Take(pageSize).TakeWhile(r => paging.NewestFirst || r.Released).ToList();
            if (page.Count > 0 || attempt == HeldPageAttempts)
            {
                var last = page.Count > 0 ? page[^1].Position : paging.Cursor ?? EventPosition.Start;
                if (page.Count == 0)
                {
                    http.Response.Headers.RetryAfter = "1";
                }
                return new Page<EventDto>([.. page.Select(r => r.Event)], Paging.Encode(last.Xact.ToString(), last.Id.ToString()));
            }
            await Task.Delay(HeldPageDelay, ct);
        }
    }

    private const int HeldPageAttempts = 20;
    private static readonly TimeSpan HeldPageDelay = TimeSpan.FromMilliseconds(25);
}
