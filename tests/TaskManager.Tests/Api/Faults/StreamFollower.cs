using System.Net;
using System.Net.ServerSentEvents;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api.Faults;

/// <summary>
/// A live-stream reader of one project, as a board follows it: it resumes with Last-Event-ID after every cut (the api
/// killed, the stream refused with 503 while the database is away) and keeps every event id it is sent, duplicates
/// included, so that the test can hold the whole sequence against the committed log.
/// </summary>
public sealed class StreamFollower(Uri address, string token, string project, long after)
{
    private readonly List<long> _ids = [];

    public int Reconnects { get; private set; }

    public IReadOnlyList<long> Ids
    {
        get
        {
            lock (_ids)
            {
                return [.. _ids];
            }
        }
    }

    /// <summary>Follows the stream until <paramref name="stop"/>.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        // No overall timeout: a stream stays open for as long as the run; a cut shows as an error or an end.
        using var http = AppFixture.Authorize(new HttpClient { BaseAddress = address }, token);
        http.Timeout = Timeout.InfiniteTimeSpan;
        var last = after;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/events?project={project}");
                request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    await using var body = await response.Content.ReadAsStreamAsync(stop);
                    await foreach (var item in SseParser.Create(body).EnumerateAsync(stop))
                    {
                        if (item.EventId is { } id)
                        {
                            last = long.Parse(id, System.Globalization.CultureInfo.InvariantCulture);
                            lock (_ids)
                            {
                                _ids.Add(last);
                            }
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                // The api was killed, or is not listening yet: resume where we were.
            }
            Reconnects++;
            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
