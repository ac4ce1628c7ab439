using System.Collections.Concurrent;
using System.Threading.Channels;
using Npgsql;

namespace TaskManager.Api.Events;

/// <summary>
/// Listens for committed events (Postgres LISTEN on <see cref="EventLog.Channel"/>) and hands them, in id order, to
/// every live stream of this replica. Every replica listens, so all browsers see every change, whichever replica
/// made it. A notification only says "something new": the broadcaster reads every event after the last one it
/// delivered, so an event whose notification was lost (listener reconnecting, a failed read) is delivered with the
/// next one, never skipped.
/// </summary>
public sealed class EventBroadcaster(NpgsqlDataSource dataSource, EventStore events, ILogger<EventBroadcaster> logger) : BackgroundService
{
    private const int BatchSize = 200;
    private static readonly TimeSpan ListenerProbeInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<Guid, Channel<EventDto>> _subscribers = new();
    private long _lastDelivered;

    /// <summary>
    /// A subscription receives every event after <see cref="Subscription.StartsAfter"/> (the last event delivered
    /// when it was made), until disposed or ended.
    /// </summary>
    public Subscription Subscribe()
    {
        // Bounded: a client that falls this far behind has its stream ended (see Deliver) rather than growing memory.
        var channel = Channel.CreateBounded<EventDto>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.Wait });
        var id = Guid.NewGuid();
        _subscribers[id] = channel;
        return new Subscription(channel.Reader, Interlocked.Read(ref _lastDelivered), () => _subscribers.TryRemove(id, out _));
    }

    public sealed class Subscription(ChannelReader<EventDto> reader, long startsAfter, Action unsubscribe) : IDisposable
    {
        public ChannelReader<EventDto> Reader { get; } = reader;

        public long StartsAfter { get; } = startsAfter;

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
                // Streams stay open: once listening again, everything committed meanwhile is delivered.
                logger.LogWarning(e, "Lost the event listener connection; reconnecting in {Delay}", delay);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
            }
        }
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        // "Something new": many notifications in a burst become one read.
        var signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        connection.Notification += (_, _) => signals.Writer.TryWrite(true);
        await using (var listen = new NpgsqlCommand($"LISTEN {EventLog.Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }
        if (Interlocked.Read(ref _lastDelivered) == 0)
        {
            Interlocked.Exchange(ref _lastDelivered, await events.LatestIdAsync(ct));
        }
        logger.LogInformation("Listening for task events");

        // Catch up with what was committed while we were not listening.
        signals.Writer.TryWrite(true);
        var delivery = DeliverAsync(signals.Reader, ct);
        try
        {
            while (true)
            {
                // A connection that died quietly (no RST from a vanished server) would wait forever: when nothing has
                // arrived for a while, a round trip proves it alive, or throws and we reconnect.
                if (!await connection.WaitAsync(ListenerProbeInterval, ct))
                {
                    await using var probe = new NpgsqlCommand("SELECT 1", connection);
                    await probe.ExecuteNonQueryAsync(ct);
                }
            }
        }
        finally
        {
            signals.Writer.TryComplete();
            await delivery;
        }
    }

    private async Task DeliverAsync(ChannelReader<bool> signals, CancellationToken ct)
    {
        await foreach (var _ in signals.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                // Read even with no subscriber: checking for none and then skipping ahead could race with one
                // subscribing and miss its first events.
                List<EventDto> batch;
                do
                {
                    batch = await events.ListAsync(null, null, Interlocked.Read(ref _lastDelivered), newestFirst: false, BatchSize, ct);
                    foreach (var e in batch)
                    {
                        Deliver(e);
                        Interlocked.Exchange(ref _lastDelivered, e.Id);
                    }
                }
                while (batch.Count == BatchSize);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
            {
                // Nothing is lost: the next signal (or reconnect) reads from the last delivered event again.
                logger.LogWarning(e, "Could not read new events for live streams");
            }
        }
    }

    private void Deliver(EventDto e)
    {
        foreach (var (subscriberId, subscriber) in _subscribers)
        {
            if (!subscriber.Writer.TryWrite(e))
            {
                // Too far behind: end the stream; the client resumes from its Last-Event-ID.
                subscriber.Writer.TryComplete();
                _subscribers.TryRemove(subscriberId, out _);
            }
        }
    }
}
