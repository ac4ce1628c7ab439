using Microsoft.Extensions.Options;
using Npgsql;
using TaskManager.Api.Database;

namespace TaskManager.Api.Tasks.Leases;

/// <summary>How often each replica looks for leases that ran out (<c>Leases:SweepInterval</c>).</summary>
public sealed class LeaseOptions
{
    public const string SectionName = "Leases";

    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Expires the leases that ran out, everywhere, every few seconds: claims and reads expire the ones they meet, this
/// catches the tasks nobody looks at, so the history and the board say soon after the expiry that the task is free.
/// Several replicas may sweep at once: each expiry locks its task and finds nothing to do when another did it first.
/// </summary>
public sealed class LeaseSweeper(LeaseStore leases, StartupState startup, IOptions<LeaseOptions> options, ILogger<LeaseSweeper> logger) : BackgroundService
{
    private const int Batch = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await startup.WhenMigrated.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(options.Value.SweepInterval);
        do
        {
            try
            {
                int expired;
                do
                {
                    expired = await leases.ExpireDueAsync(projectId: null, Batch, stoppingToken);
                    if (expired > 0)
                    {
                        logger.LogInformation("Expired {Count} leases that ran out", expired);
                    }
                }
                while (expired == Batch);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Could not expire leases that ran out; will try again");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
