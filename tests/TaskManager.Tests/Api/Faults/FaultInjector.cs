using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api.Faults;

public enum FaultKind { KillApi, StopDatabaseFast, StopDatabaseImmediate, TerminateBackends, PauseDatabase }

/// <summary>From when a fault began until the api was healthy again: 503s inside it are expected, outside are not.</summary>
public sealed record FaultWindow(FaultKind Kind, DateTime Start, DateTime End, string Detail);

/// <summary>
/// Injects one fault at a time into a running api and its database and waits until the api is healthy again. Every
/// wait is bounded: a fault that does not heal fails the run instead of hanging it.
/// </summary>
public sealed class FaultInjector(ApiProcess api, PrivatePostgres postgres, string databaseConnectionString, FaultPlan plan)
{
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(60);

    public List<FaultWindow> Windows { get; } = [];

    public async Task InjectAsync(FaultKind kind)
    {
        var start = DateTime.UtcNow;
        var detail = "";
        switch (kind)
        {
            case FaultKind.KillApi:
                api.Kill();
                api.Launch();
                break;
            case FaultKind.StopDatabaseFast or FaultKind.StopDatabaseImmediate:
                await postgres.StopAsync(kind == FaultKind.StopDatabaseFast ? "fast" : "immediate");
                await Task.Delay(plan.DatabaseDown, TestHelpers.Ct);
                await postgres.StartAgainAsync();
                break;
            case FaultKind.TerminateBackends:
                detail = $"{await TerminateApiBackendsAsync()} backends";
                break;
            case FaultKind.PauseDatabase:
                await postgres.PauseAsync();
                try
                {
                    await Task.Delay(plan.Pause, TestHelpers.Ct);
                }
                finally
                {
                    await postgres.ResumeAsync();
                }
                break;
        }
        await api.WaitHealthyAsync(RecoveryLimit, TestHelpers.Ct);
        Windows.Add(new FaultWindow(kind, start, DateTime.UtcNow, detail));
    }

    /// <summary>Ends every session of the api (its pool and its events listener) as an administrator would.</summary>
    private async Task<long> TerminateApiBackendsAsync()
    {
        await using var connection = new NpgsqlConnection(databaseConnectionString);
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var terminate = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE @api", connection);
        terminate.Parameters.AddWithValue("api", FaultPlan.ApiApplicationName + "%");
        return (long)(await terminate.ExecuteScalarAsync(TestHelpers.Ct).Timeout())!;
    }
}
