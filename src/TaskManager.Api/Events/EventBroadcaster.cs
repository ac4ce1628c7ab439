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
    private TimeSpan _reconnectDelay = FirstReconnectDelay;
    private static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RetryReadAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Starts delivering after the newest event committed so far. Runs before the app serves requests (and after the
    /// migrations), so no stream can subscribe before the starting point is known.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lastDelivered, await events.LatestIdAsync(cancellationToken));
        await base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// A subscription receives every event read after it was made (anything committed later, and possibly a few
    /// just before: streams skip ids they do not need), until disposed or ended.
    /// </summary>
    public Subscription Subscribe()
    {
        // Bounded: a client that falls this far behind has its stream ended (see Deliver) rather than growing memory.
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
                logger.LogWarning(e, "Lost the event listener connection; reconnecting in {Delay}", _reconnectDelay);
                await Task.Delay(_reconnectDelay, stoppingToken);
                _reconnectDelay = TimeSpan.FromSeconds(Math.Min(_reconnectDelay.TotalSeconds * 2, 30));
            }
        }
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        // "Something new": many notifications in a burst become one read.
        var signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        connection.Notification += (_, _) => signals.Writer.TryWrite(true);
        // Named, so that operators (and tests) can tell the listener apart in pg_stat_activity.
        await using (var listen = new NpgsqlCommand($"""
            SELECT set_config('application_name', left(current_setting('application_name') || ' (events listener)', 63), false);
            LISTEN {EventLog.Channel};
            """, connection))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }
        _reconnectDelay = FirstReconnectDelay;
        logger.LogInformation("Listening for task events");

        // Catch up with what was committed while we were not listening.
        signals.Writer.TryWrite(true);
        var delivery = DeliverAsync(signals, ct);
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
                    // And read anyway, in case a notification was lost.
                    signals.Writer.TryWrite(true);
                }
            }
        }
        finally
        {
            signals.Writer.TryComplete();
            await delivery;
        }
    }

    private async Task DeliverAsync(Channel<bool> signals, CancellationToken ct)
    {
        await foreach (var signal in signals.Reader.ReadAllAsync(CancellationToken.None))
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
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Nothing is lost: read again from the last delivered event shortly. Any failure, so that live
                // delivery never stops silently while streams stay open.
                logger.LogWarning(e, "Could not read new events for live streams; retrying");
                _ = Task.Delay(RetryReadAfter, ct).ContinueWith(_ => signals.Writer.TryWrite(true), TaskScheduler.Default);
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
