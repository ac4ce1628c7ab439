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

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromSeconds(1);
    private TimeSpan _reconnectDelay = FirstReconnectDelay;
    private volatile bool _listening;

    /// <summary>A notification arrived: channel and payload. Runs on the listener's thread: keep handlers short.</summary>
    public event Action<string, string>? Received;

    /// <summary>LISTEN is in place again (at start and after every reconnection).</summary>
    public event Action? Connected;

    /// <summary>True while notifications are being heard; anything cached on their strength is stale otherwise.</summary>
    public bool IsListening => _listening;

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
                logger.LogWarning(e, "Lost the database notification listener; reconnecting in {Delay}", _reconnectDelay);
                await Task.Delay(_reconnectDelay, stoppingToken);
                _reconnectDelay = TimeSpan.FromSeconds(Math.Min(_reconnectDelay.TotalSeconds * 2, 30));
            }
        }
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        connection.Notification += (_, e) => Received?.Invoke(e.Channel, e.Payload);
        // Named, so that operators (and tests) can tell the listener apart in pg_stat_activity.
        await using (var listen = new NpgsqlCommand($"""
            SELECT set_config('application_name', left(current_setting('application_name') || ' (events listener)', 63), false);
            LISTEN {EventsChannel};
            LISTEN {TokensChannel};
            """, connection))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }
        _reconnectDelay = FirstReconnectDelay;
        logger.LogInformation("Listening for database notifications");
        _listening = true;
        try
        {
            Connected?.Invoke();
            while (true)
            {
                // A connection that died quietly (no RST from a vanished server) would wait forever: when nothing has
                // arrived for a while, a round trip proves it alive, or throws and we reconnect.
                if (!await connection.WaitAsync(ProbeInterval, ct))
                {
                    await using var probe = new NpgsqlCommand("SELECT 1", connection);
                    await probe.ExecuteNonQueryAsync(ct);
                }
            }
        }
        finally
        {
            _listening = false;
        }
    }
}
