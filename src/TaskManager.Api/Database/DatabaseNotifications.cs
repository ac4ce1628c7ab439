using Npgsql;

namespace TaskManager.Api.Database;

/// <summary>
/// The replica's one LISTEN connection, for the channels other parts react to (new events, revoked tokens), kept open
/// across database restarts. Subscribers hear each notification and each (re)connection: notifications sent while the
/// connection was down are lost, so on <see cref="Connected"/> they catch up or drop what they cached.
/// </summary>
public sealed class DatabaseNotifications(NpgsqlDataSource dataSource, ILogger<DatabaseNotifications> logger) : BackgroundService
{
    public const string EventsChannel = "task_events";
    public const string TokensChannel = "api_tokens";

    // A connection that died quietly (no RST from a vanished server) is noticed within a probe: until then, whatever
    // is cached on the strength of notifications is trusted for at most ProbeInterval + HeardWithin.
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan HeardWithin = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(2);
    private TimeSpan _reconnectDelay = FirstReconnectDelay;
    private volatile bool _listening;
    private long _lastHeardTicks;

    /// <summary>A notification arrived: channel and payload. Runs on the listener's thread: keep handlers short.</summary>
    public event Action<string, string>? Received;

    /// <summary>LISTEN is in place again (at start and after every reconnection).</summary>
    public event Action? Connected;

    /// <summary>
    /// True while notifications are being heard: the listener is connected and proved alive lately. Anything cached on
    /// their strength is stale otherwise.
    /// </summary>
    public bool IsListening =>
        _listening && DateTime.UtcNow.Ticks - Interlocked.Read(ref _lastHeardTicks) < (ProbeInterval + HeardWithin).Ticks;

    private void Heard() => Interlocked.Exchange(ref _lastHeardTicks, DateTime.UtcNow.Ticks);

    /// <summary>Sends a notification in a transaction of its own.</summary>
    public async Task NotifyAsync(string channel, string payload, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_notify(@channel, @payload)");
        command.Parameters.AddWithValue("channel", channel);
        command.Parameters.AddWithValue("payload", payload);
        await command.ExecuteNonQueryAsync(ct);
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
                // Once per outage at warning level; the attempts after that every couple of seconds at debug level.
                if (_reconnectDelay == FirstReconnectDelay)
                {
                    logger.LogWarning(e, "Lost the database notification listener; reconnecting");
                }
                else
                {
                    logger.LogDebug(e, "Database notification listener: still reconnecting");
                }
                await Task.Delay(_reconnectDelay, stoppingToken);
                // Short: after an outage, streams and token caches are back within seconds of the database.
                _reconnectDelay = TimeSpan.FromSeconds(Math.Min(_reconnectDelay.TotalSeconds * 2, MaxReconnectDelay.TotalSeconds));
            }
        }
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        connection.Notification += (_, e) =>
        {
            Heard();
            Received?.Invoke(e.Channel, e.Payload);
        };
        // Named, so that operators (and tests) can tell the listener apart in pg_stat_activity.
        await using (var listen = new NpgsqlCommand($"""
            SELECT set_config('application_name', left(current_setting('application_name') || ' (events listener)', 63), false);
            LISTEN {EventsChannel};
            LISTEN {TokensChannel};
            """, connection))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }
        logger.LogInformation("Listening for database notifications");
        _reconnectDelay = FirstReconnectDelay;
        // Subscribers drop what they cached before anything is trusted again.
        Connected?.Invoke();
        Heard();
        _listening = true;
        try
        {
            while (true)
            {
                // When nothing has arrived for a while, a round trip proves the connection alive, or throws and we
                // reconnect.
                if (!await connection.WaitAsync(ProbeInterval, ct))
                {
                    await using var probe = new NpgsqlCommand("SELECT 1", connection);
                    await probe.ExecuteNonQueryAsync(ct);
                    Heard();
                }
            }
        }
        finally
        {
            _listening = false;
            // Back in the pool (the api resets nothing on checkout), the connection must not listen or carry the name.
            if (connection.State == System.Data.ConnectionState.Open)
            {
                try
                {
                    await using var unlisten = new NpgsqlCommand("UNLISTEN *; RESET application_name", connection);
                    await unlisten.ExecuteNonQueryAsync(CancellationToken.None);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    // Broken: the pool drops it.
                }
            }
        }
    }
}
