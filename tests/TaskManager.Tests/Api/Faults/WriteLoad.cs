using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api.Faults;

public enum WriteKind { Create, Patch, Move, Comment, Claim }

/// <summary>
/// A write the api acknowledged: its 2xx body was read in full. <paramref name="Version"/> is the task's version the
/// answer reported; <paramref name="Key"/> is the Idempotency-Key, which creates, patches and comments embed in the text
/// they write, so that the database shows how many times each was applied.
/// </summary>
public sealed record Acknowledged(WriteKind Kind, string Key, Guid TaskId, string TaskRef, int Version, Guid? CommentId, bool Replayed);

/// <summary>What every client saw, shared: acknowledged writes, refusals, retries, and the failures the test asserts on.</summary>
public sealed class Journal
{
    public ConcurrentQueue<Acknowledged> Acknowledged { get; } = new();

    /// <summary>Definitive non-writes: 412 (stale If-Match), 409, and claims that found nothing ready (204).</summary>
    public ConcurrentDictionary<string, int> Refused { get; } = new();

    /// <summary>When each 503 arrived, with its title, to hold against the fault windows.</summary>
    public ConcurrentQueue<(DateTime At, string Title)> Unavailable { get; } = new();

    /// <summary>Anything that must not happen: another 5xx, an unexpected 4xx, a write that never got an answer.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    public int NetworkErrors;
    public int Attempts;
    public int Replays;

    public void Refuse(string reason) => Refused.AddOrUpdate(reason, 1, (_, n) => n + 1);
}

/// <summary>
/// One client of the steady mixed write load. Every write gets a fresh Idempotency-Key; a network error, a timeout or a
/// 503 means "unknown", so the same request is sent again with the same key (bounded) until a definitive answer comes.
/// A write is journaled only once its 2xx body has been read: a reply cut off mid-body is retried and then replayed.
/// </summary>
public sealed class WriteClient(int number, Uri address, string token, string project, Journal journal)
{
    /// <summary>Longer than any fault lasts (a 20 s pause, an api restart): past it the write is a failure.</summary>
    private static readonly TimeSpan WriteDeadline = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private const int MaxWrites = 100_000;
    private const int WorkingSet = 20;

    private readonly Random _random = new(number);
    /// <summary>This client's recent tasks and the version it last saw of each.</summary>
    private readonly List<(Guid Id, string Ref, int Version)> _tasks = [];

    /// <summary>
    /// Writes until <paramref name="stop"/>; a write under way is finished first, so that its outcome is known.
    /// <paramref name="abandon"/> ends everything at once (the test has failed already).
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken abandon)
    {
        using var http = AppFixture.Authorize(new HttpClient { BaseAddress = address }, token);
        http.Timeout = RequestTimeout;
        for (var n = 0; n < MaxWrites && !stop.IsCancellationRequested; n++)
        {
            var key = $"c{number}-{n}-{Guid.NewGuid():N}";
            var kind = _tasks.Count == 0 ? WriteKind.Create : Pick();
            var slot = _random.Next(_tasks.Count);
            await (kind switch
            {
                WriteKind.Create => CreateAsync(http, key, abandon),
                WriteKind.Patch => PatchAsync(http, key, slot, abandon),
                WriteKind.Move => MoveAsync(http, key, slot, abandon),
                WriteKind.Comment => CommentAsync(http, key, slot, abandon),
                _ => ClaimAsync(http, key, abandon),
            });
            // A little think time: four clients should load two shared cores, not starve them.
            await Task.Delay(5, abandon);
        }
    }

    private WriteKind Pick() => _random.Next(100) switch
    {
        < 30 => WriteKind.Create,
        < 50 => WriteKind.Patch,
        < 70 => WriteKind.Move,
        < 90 => WriteKind.Comment,
        _ => WriteKind.Claim,
    };

    private async Task CreateAsync(HttpClient http, string key, CancellationToken abandon)
    {
        var answer = await SendAsync(http, key, WriteKind.Create, abandon, () => Post("/api/tasks", new { project, title = $"Task {key}" }));
        if (answer is (HttpStatusCode.Created, var body, var replayed))
        {
            var task = Read(body);
            Acknowledge(WriteKind.Create, key, task, null, replayed);
            _tasks.Add(task);
            if (_tasks.Count > WorkingSet)
            {
                _tasks.RemoveAt(0);
            }
        }
    }

    private async Task PatchAsync(HttpClient http, string key, int slot, CancellationToken abandon)
    {
        var (_, reference, version) = _tasks[slot];
        var answer = await SendAsync(http, key, WriteKind.Patch, abandon,
            () => IfMatch(new HttpRequestMessage(HttpMethod.Patch, $"/api/tasks/{reference}") { Content = JsonContent.Create(new { description = $"Patched {key}" }) }, version));
        Versioned(WriteKind.Patch, key, slot, answer);
    }

    private async Task MoveAsync(HttpClient http, string key, int slot, CancellationToken abandon)
    {
        var (_, reference, version) = _tasks[slot];
        var status = new[] { "todo", "doing", "review", "done" }[_random.Next(4)];
        var answer = await SendAsync(http, key, WriteKind.Move, abandon, () => IfMatch(Post($"/api/tasks/{reference}/move", new { status }), version));
        Versioned(WriteKind.Move, key, slot, answer);
    }

    private async Task CommentAsync(HttpClient http, string key, int slot, CancellationToken abandon)
    {
        var answer = await SendAsync(http, key, WriteKind.Comment, abandon, () => Post($"/api/tasks/{_tasks[slot].Ref}/comments", new { body = $"Comment {key}" }));
        if (answer is (HttpStatusCode.Created, var body, var replayed))
        {
            using var comment = JsonDocument.Parse(body);
            var root = comment.RootElement;
            Acknowledge(WriteKind.Comment, key, (root.GetProperty("taskId").GetGuid(), root.GetProperty("taskRef").GetString()!, 0),
                root.GetProperty("id").GetGuid(), replayed);
        }
    }

    private async Task ClaimAsync(HttpClient http, string key, CancellationToken abandon)
    {
        var answer = await SendAsync(http, key, WriteKind.Claim, abandon, () => Post("/api/tasks/claim", new { project }));
        switch (answer)
        {
            case (HttpStatusCode.OK, var body, var replayed):
                Acknowledge(WriteKind.Claim, key, Read(body), null, replayed);
                break;
            case (HttpStatusCode.NoContent, _, _):
                journal.Refuse("claim: none ready (204)");
                break;
        }
    }

    /// <summary>A patch or move: 200 is acknowledged at the version it reports; 412 is refused and teaches the current version.</summary>
    private void Versioned(WriteKind kind, string key, int slot, (HttpStatusCode Status, string Body, bool Replayed)? answer)
    {
        switch (answer)
        {
            case (HttpStatusCode.OK, var body, var replayed):
                var task = Read(body);
                Acknowledge(kind, key, task, null, replayed);
                _tasks[slot] = task;
                break;
            case (HttpStatusCode.PreconditionFailed, var body, _):
                journal.Refuse($"{kind}: stale If-Match (412)");
                using (var problem = JsonDocument.Parse(body))
                {
                    _tasks[slot] = _tasks[slot] with { Version = problem.RootElement.GetProperty("currentVersion").GetInt32() };
                }
                break;
        }
    }

    private void Acknowledge(WriteKind kind, string key, (Guid Id, string Ref, int Version) task, Guid? comment, bool replayed)
    {
        journal.Acknowledged.Enqueue(new Acknowledged(kind, key, task.Id, task.Ref, task.Version, comment, replayed));
        if (replayed)
        {
            Interlocked.Increment(ref journal.Replays);
        }
    }

    /// <summary>
    /// Sends the same request (same key, body and If-Match) until a definitive answer: any 2xx or 4xx. Null when none
    /// came within <see cref="WriteDeadline"/> (a failure). 409 and 412 are returned; other 4xx are failures.
    /// </summary>
    private async Task<(HttpStatusCode Status, string Body, bool Replayed)?> SendAsync(
        HttpClient http, string key, WriteKind kind, CancellationToken abandon, Func<HttpRequestMessage> request)
    {
        var deadline = DateTime.UtcNow + WriteDeadline;
        while (true)
        {
            Interlocked.Increment(ref journal.Attempts);
            var delay = TimeSpan.FromMilliseconds(100 + _random.Next(200));
            try
            {
                using var message = request();
                message.Headers.Add("Idempotency-Key", key);
                using var response = await http.SendAsync(message, abandon);
                // Read in full before deciding: an answer cut off mid-body is no answer.
                var body = await response.Content.ReadAsStringAsync(abandon);
                var status = response.StatusCode;
                var replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true");
                if ((int)status < 300 || status is HttpStatusCode.PreconditionFailed)
                {
                    return (status, body, replayed);
                }
                if (status is HttpStatusCode.Conflict)
                {
                    journal.Refuse($"{kind}: 409 {Title(body)}");
                    return (status, body, replayed);
                }
                if (status is HttpStatusCode.ServiceUnavailable)
                {
                    journal.Unavailable.Enqueue((DateTime.UtcNow, Title(body)));
                    // Retry-After says 2 s; sooner keeps the load on the api the moment it is back.
                    delay = TimeSpan.FromMilliseconds(250 + _random.Next(250));
                }
                else
                {
                    journal.Failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {kind} {key}: {(int)status} {body}");
                    if ((int)status < 500)
                    {
                        return null;
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !abandon.IsCancellationRequested)
            {
                // Refused (the api is down), cut off (killed mid-request) or timed out: the outcome is unknown.
                Interlocked.Increment(ref journal.NetworkErrors);
            }
            if (DateTime.UtcNow > deadline)
            {
                journal.Failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {kind} {key}: no definitive answer within {WriteDeadline}");
                return null;
            }
            await Task.Delay(delay, abandon);
        }
    }

    private static HttpRequestMessage Post(string url, object body) => new(HttpMethod.Post, url) { Content = JsonContent.Create(body) };

    private static HttpRequestMessage IfMatch(HttpRequestMessage request, int version)
    {
        request.Headers.TryAddWithoutValidation("If-Match", $"\"{version}\"");
        return request;
    }

    private static (Guid Id, string Ref, int Version) Read(string body)
    {
        using var task = JsonDocument.Parse(body);
        var root = task.RootElement;
        return (root.GetProperty("id").GetGuid(), root.GetProperty("ref").GetString()!, root.GetProperty("version").GetInt32());
    }

    private static string Title(string problem)
    {
        try
        {
            using var document = JsonDocument.Parse(problem);
            return document.RootElement.TryGetProperty("title", out var title) ? title.GetString() ?? "" : "";
        }
        catch (JsonException)
        {
            return problem.Length > 80 ? problem[..80] : problem;
        }
    }
}
