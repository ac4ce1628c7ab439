using System.Collections.Concurrent;
using System.Threading.Channels;
using Npgsql;

namespace TaskManager.Api.Events;

/// <summary>
/// Listens for committed events (Postgres LISTEN on <see cref="EventLog.Channel"/>) and hands each one to every
/// live stream of this replica. Every replica listens, so all browsers see every change, whichever replica made it.
/// </summary>
public sealed class EventBroadcaster(NpgsqlDataSource dataSource, EventStore events, ILogger<EventBroadcaster> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, Channel<EventDto>> _subscribers = new();

    /// <summary>A subscription receives every event committed after it was made, until disposed.</summary>
    public Subscription Subscribe()
    {
        // Bounded: a client that falls this far behind has its stream ended (see FanOutAsync) rather than growing memory.
        var channel = Channel.CreateBounded<EventDto>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.Wait });
        var id = Guid.NewGuid();
        _subscribers[id] = channel;
        return new Subscription(channel.Reader, () => _subscribers.TryRemove(id, out _));
    }

    public sealed class Subscription(ChannelReader<EventDto> reader, Action unsubscribe) : IDisposable
    {
        public ChannelReader<EventDto> Reader { get; } = reader;

        public void Dispose() => unsubscribe();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                logger.LogWarning(e, "Lost the event listener connection; reconnecting in {Delay}", delay);
                // Events committed while we are not listening would never arrive: end every stream, so that each
                // client reconnects with Last-Event-ID and replays what it missed.
                EndAllStreams();
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
            }
        }
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var pending = Channel.CreateUnbounded<long>();
        connection.Notification += (_, notification) =>
        {
            if (long.TryParse(notification.Payload, out var id))
            {
                pending.Writer.TryWrite(id);
            }
        };
        await using (var listen = new NpgsqlCommand($"LISTEN {EventLog.Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }
        logger.LogInformation("Listening for task events");

        var fanOut = FanOutAsync(pending.Reader, ct);
        try
        {
            while (true)
            {
                await connection.WaitAsync(ct);
            }
        }
        finally
        {
            pending.Writer.TryComplete();
            await fanOut;
        }
    }

    private void EndAllStreams()
    {
        foreach (var id in _subscribers.Keys)
        {
            if (_subscribers.TryRemove(id, out var subscriber))
            {
                subscriber.Writer.TryComplete();
            }
        }
    }

    private async Task FanOutAsync(ChannelReader<long> ids, CancellationToken ct)
    {
        await foreach (var id in ids.ReadAllAsync(CancellationToken.None))
        {
            if (_subscribers.IsEmpty)
            {
                continue;
            }
            try
            {
                if (await events.FindAsync(id, ct) is { } dto)
                {
                    foreach (var (subscriberId, subscriber) in _subscribers)
                    {
                        if (!subscriber.Writer.TryWrite(dto))
                        {
                            // Too far behind: end the stream; the client resumes from its Last-Event-ID.
                            subscriber.Writer.TryComplete();
                            _subscribers.TryRemove(subscriberId, out _);
                        }
                    }
                }
            }
            catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
            {
                logger.LogWarning(e, "Could not read event {Id} for live streams", id);
            }
        }
    }
}
