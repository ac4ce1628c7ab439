using System.Collections.Concurrent;
using System.Threading.Channels;
using Npgsql;
using TaskManager.Api.Database;

namespace TaskManager.Api.Events;

/// <summary>
/// Hands every committed event, in log order, to every live stream of this replica, whichever replica wrote it. It
/// reads the log after the last event it delivered whenever it is woken: by a local commit (<see cref="EventSignal"/>),
/// by another replica's NOTIFY, by the listener reconnecting, and once a second while anyone is subscribed (a replica
/// that crashed between its commit and its NOTIFY delays an event by at most that). A wake-up says only "something
/// may be new", so none can be missed, and a burst of them becomes one read.
/// </summary>
public sealed class EventBroadcaster : BackgroundService
{
    private const int BatchSize = 200;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RetryReadAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstHeldBackDelay = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan MaxHeldBackDelay = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan WarnHeldBackAfter = TimeSpan.FromSeconds(10);

    private readonly EventStore _events;
    private readonly EventSignal _signal;
    private readonly DatabaseNotifications _notifications;
    private readonly ILogger<EventBroadcaster> _logger;
    private readonly StartupState _startup;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<Guid, Channel<StoredEvent>> _subscribers = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    // Only the delivery loop reads or writes it once started.
    private EventPosition _lastDelivered;
    private TimeSpan _heldBackDelay = FirstHeldBackDelay;
    private bool _readFailing;
    private DateTime? _heldBackSince;
    private DateTime _warnedHeldBack;

    public EventBroadcaster(
        EventStore events, EventSignal signal, DatabaseNotifications notifications, StartupState startup, ILogger<EventBroadcaster> logger)
    {
        (_events, _signal, _notifications, _startup, _logger) = (events, signal, notifications, startup, logger);
        // No stream can subscribe before the starting point is known: the api is not ready until then.
        startup.Add(_started.Task);
        // Before the listener can connect, so that no wake-up is missed.
        signal.OnCommitted(Wake);
        notifications.Received += (channel, payload) =>
        {
            if (channel == DatabaseNotifications.EventsChannel && payload != signal.ReplicaId)
            {
                Wake();
            }
        };
        // Whatever was announced while nobody listened.
        notifications.Connected += Wake;
    }


    /// <summary>
    /// A subscription receives every event delivered after it was made (anything released later, and possibly a few
    /// just before: streams skip positions they do not need), until disposed or ended.
    /// </summary>
    public Subscription Subscribe()
    {
        // Bounded: a client that falls this far behind has its stream ended (see Deliver) rather than growing memory.
        var channel = Channel.CreateBounded<StoredEvent>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.Wait });
        var id = Guid.NewGuid();
        _subscribers[id] = channel;
        return new Subscription(channel.Reader, () => _subscribers.TryRemove(id, out _));
    }

    public sealed class Subscription(ChannelReader<StoredEvent> reader, Action unsubscribe) : IDisposable
    {
        public ChannelReader<StoredEvent> Reader { get; } = reader;

        public void Dispose() => unsubscribe();
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await StartingPointAsync(stoppingToken);
        var delivery = DeliverAsync(stoppingToken);
        var announcing = AnnounceAsync(stoppingToken);
        using var poll = new PeriodicTimer(PollInterval);
        try
        {
            while (await poll.WaitForNextTickAsync(stoppingToken))
            {
                if (!_subscribers.IsEmpty)
                {
                    Wake();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _wake.Writer.TryComplete();
            await Task.WhenAll(delivery, announcing);
            // Open streams end now rather than when the server aborts them; clients resume elsewhere.
            foreach (var subscriber in _subscribers.Values)
            {
                subscriber.Writer.TryComplete();
            }
        }
    }

    /// <summary>One NOTIFY at a time, after the commits it announces; commits meanwhile make one more.</summary>
    private async Task AnnounceAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var _ in _signal.Announcements.ReadAllAsync(ct))
            {
                try
                {
                    await _notifications.NotifyAsync(DatabaseNotifications.EventsChannel, _signal.ReplicaId, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The other replicas' poll delivers the events anyway.
                    _logger.LogDebug(e, "Could not announce new events to other replicas");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Delivery starts after the newest event released once the schema is ready; no stream is served before.</summary>
    private async Task StartingPointAsync(CancellationToken ct)
    {
        await _startup.WhenMigrated.WaitAsync(ct);
        while (true)
        {
            try
            {
                _lastDelivered = await _events.LatestReleasedAsync(ct);
                _started.TrySetResult();
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
            {
                _logger.LogWarning(e, "Could not read where the event stream starts; retrying");
                await Task.Delay(RetryReadAfter, ct);
            }
        }
    }

    private async Task DeliverAsync(CancellationToken ct)
    {
        await foreach (var _ in _wake.Reader.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                // Read even with no subscriber: checking for none and then skipping ahead could race with one
                // subscribing and miss its first events.
                bool heldBack, more;
                do
                {
                    var batch = await _events.ListAsync(null, null, _lastDelivered, newestFirst: false, BatchSize, ct);
                    heldBack = false;
                    foreach (var e in batch)
                    {
                        if (!e.Released)
                        {
                            heldBack = true;
                            break;
                        }
                        Deliver(e);
                        _lastDelivered = e.Position;
                    }
                    more = !heldBack && batch.Count == BatchSize;
                }
                while (more);

                // Committed events wait for an older transaction that is still running (it may yet commit an event
                // before them): look again shortly, backing off while it runs.
                if (heldBack)
                {
                    WakeAfter(_heldBackDelay, ct);
                    _heldBackDelay = TimeSpan.FromTicks(Math.Min(_heldBackDelay.Ticks * 2, MaxHeldBackDelay.Ticks));
                    _heldBackSince ??= DateTime.UtcNow;
                    if (DateTime.UtcNow - _heldBackSince > WarnHeldBackAfter && DateTime.UtcNow - _warnedHeldBack > WarnHeldBackAfter)
                    {
                        _warnedHeldBack = DateTime.UtcNow;
                        await WarnHeldBackAsync(ct);
                    }
                }
                else
                {
                    _heldBackDelay = FirstHeldBackDelay;
                    _heldBackSince = null;
                }
                if (_readFailing)
                {
                    _readFailing = false;
                    _logger.LogInformation("Reading new events for live streams again");
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Nothing is lost: read again from the last delivered event shortly. Any failure, so that live
                // delivery never stops silently while streams stay open.
                // Once per outage at warning level, then quietly every second until a read succeeds.
                if (_readFailing)
                {
                    _logger.LogDebug(e, "Still cannot read new events for live streams; retrying");
                }
                else
                {
                    _logger.LogWarning(e, "Could not read new events for live streams; retrying every second");
                }
                _readFailing = true;
                WakeAfter(RetryReadAfter, ct);
            }
        }
    }

    /// <summary>
    /// Live updates wait while any transaction of the PostgreSQL cluster that began before them is still running (in
    /// any database: transaction ids are cluster-wide). Say which one, so that an operator can end it.
    /// </summary>
    private async Task WarnHeldBackAsync(CancellationToken ct)
    {
        var oldest = await _events.OldestRunningTransactionAsync(ct);
        _logger.LogWarning(
            "Live updates have waited {Seconds:0} s for an older transaction to finish: {Transaction}. Streams and history cursors " +
            "catch up once it commits or rolls back (idle_in_transaction_session_timeout bounds idle ones).",
            (DateTime.UtcNow - _heldBackSince!.Value).TotalSeconds, oldest ?? "not visible to this role");
    }

    private void WakeAfter(TimeSpan delay, CancellationToken ct) =>
        _ = Task.Delay(delay, ct).ContinueWith(_ => Wake(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

    private void Deliver(StoredEvent e)
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
