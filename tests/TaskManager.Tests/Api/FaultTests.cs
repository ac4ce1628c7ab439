using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TaskManager.Tests.Api.Faults;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// Faults under a steady mixed write load (issue 9): the api is killed with SIGKILL and started again; its database is
/// stopped fast and immediate and started again, has the api's sessions terminated, and is frozen with SIGSTOP. The api
/// is a real child process and the database the test's own. Afterwards every write a client was acknowledged is
/// there exactly once with its event, nothing is there twice, and the live stream and history give the committed log
/// once and in order. The short version runs with every test run; the long one is
/// <c>TASKMANAGER_FAULTS=long bash tests/faults.sh</c> (docs/reliability.md).
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private const int Clients = 4;
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(1);
    /// <summary>A fault, its outage and the api's recovery; a pause lasts 20 s at most.</summary>
    private static readonly TimeSpan FaultLimit = TimeSpan.FromMinutes(2);
    /// <summary>A write under way when the load stops may still be retrying (WriteClient gives up after 90 s).</summary>
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(100);
    private static readonly TimeSpan CatchUpLimit = TimeSpan.FromSeconds(30);

    /// <summary>Where every run appends its figures (tests/faults.sh prints them).</summary>
    public static readonly string ResultsFile = Path.Combine(AppContext.BaseDirectory, "TestResults", "faults.txt");

    [Fact(Timeout = 5 * 60_000)]
    public Task Every_acknowledged_write_survives_one_of_each_fault_exactly_once() =>
        RunAsync(FaultPlan.Short, TestContext.Current.CancellationToken);

    [Fact(Timeout = 60 * 60_000)]
    public async Task Every_acknowledged_write_survives_rounds_of_faults_with_20_s_pauses_exactly_once()
    {
        Assert.SkipUnless(Environment.GetEnvironmentVariable("TASKMANAGER_FAULTS") == "long",
            "The long fault run takes minutes: TASKMANAGER_FAULTS=long bash tests/faults.sh (docs/reliability.md).");
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("TASKMANAGER_FAULT_ROUNDS"), out var r) && r is > 0 and <= 40 ? r : 5;
        await RunAsync(FaultPlan.Long(rounds), TestContext.Current.CancellationToken);
    }

    /// <param name="ct">The test's own token: its Timeout cancels it.</param>
    private async Task RunAsync(FaultPlan plan, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        await using var postgres = await PrivatePostgres.StartAsync();
        await ExecuteAsync(postgres.ConnectionString + ";Pooling=false", "CREATE DATABASE tasks");
        var database = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = "tasks", Pooling = false }.ConnectionString;
        var forApi = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = "tasks", ApplicationName = FaultPlan.ApiApplicationName };
        var token = "faults-admin-" + Guid.NewGuid().ToString("N");
        using var api = ApiProcess.Start(forApi.ConnectionString, token);
        using var stopWrites = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var stopStream = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // Cancelled when the test fails midway, so that no client or reader outlives it.
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            await api.WaitHealthyAsync(StartLimit, ct);
            using var admin = AppFixture.Authorize(new HttpClient { BaseAddress = api.Address }, token);
            var project = (await admin.CreateProjectAsync()).GetProperty("key").GetString()!;
            var projectCreated = (await CommittedState.ReadAsync(database, project)).Log.Single().Id;

            var journal = new Journal();
            var follower = new StreamFollower(api.Address, token, project, projectCreated);
            var following = follower.RunAsync(stopStream.Token);
            var writing = Enumerable.Range(1, Clients)
                .Select(n => new WriteClient(n, api.Address, token, project, journal).RunAsync(stopWrites.Token, abandon.Token)).ToArray();

            var injector = new FaultInjector(api, postgres, database, plan);
            for (var round = 0; round < plan.Rounds; round++)
            {
                foreach (var fault in FaultPlan.Round)
                {
                    // Steady load first, so that every fault lands on writes in flight.
                    await Task.Delay(plan.Calm, ct);
                    await injector.InjectAsync(fault).WaitAsync(FaultLimit, ct);
                }
            }
            await Task.Delay(plan.Calm, ct);
            await stopWrites.CancelAsync();
            await Task.WhenAll(writing).WaitAsync(DrainLimit, ct);

            var state = await CommittedState.ReadAsync(database, project);
            await CaughtUpAsync(follower, state.Log.Count - 1);
            await stopStream.CancelAsync();
            await following.WaitAsync(TimeSpan.FromSeconds(10), ct);
            var history = await HistoryAsync(admin, project);

            var report = FaultReport.Check(journal, state, follower.Ids, history, injector.Windows);
            var summary = Summary(plan, watch.Elapsed, journal, injector, state, follower, report);
            output.WriteLine(summary);
            // dotnet test shows a passing test's output nowhere: the figures for docs/reliability.md go to a file too.
            Directory.CreateDirectory(Path.GetDirectoryName(ResultsFile)!);
            await File.AppendAllTextAsync(ResultsFile, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC {summary}\n", ct).Timeout();
            Assert.True(report.Problems.Count == 0, report.ToString());
        }
        catch (Exception)
        {
            await abandon.CancelAsync();
            await stopStream.CancelAsync();
            output.WriteLine($"The api's last output:\n{api.RecentOutput}");
            throw;
        }
    }

    /// <summary>Waits (bounded) until the stream has delivered as many events as were committed; the comparison says the rest.</summary>
    private static async Task CaughtUpAsync(StreamFollower follower, int committed)
    {
        var deadline = DateTime.UtcNow + CatchUpLimit;
        while (follower.Ids.Count < committed && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, TestHelpers.Ct);
        }
    }

    private static async Task<List<long>> HistoryAsync(HttpClient client, string project)
    {
        var ids = new List<long>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>(
                $"/api/projects/{project}/history?limit=200{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            ids.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return ids;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout();
    }

    /// <summary>One line of figures (for docs/reliability.md), then the faults as they happened.</summary>
    private static string Summary(
        FaultPlan plan, TimeSpan elapsed, Journal journal, FaultInjector injector, CommittedState state, StreamFollower follower, FaultReport report)
    {
        var acknowledged = journal.Acknowledged.ToList();
        var faults = string.Join(", ", injector.Windows.GroupBy(w => w.Kind).Select(g => $"{g.Key} {g.Count()}"));
        var writes = string.Join(", ", acknowledged.GroupBy(a => a.Kind).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"));
        var refused = string.Join(", ", journal.Refused.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}"));
        var lines = new List<string>
        {
            $"FAULTS {plan.Name}: {elapsed.TotalSeconds:F0} s, faults {injector.Windows.Count} ({faults}), "
                + $"writes acknowledged {acknowledged.Count} ({writes}; {journal.Replays} replayed), lost {report.Lost}, duplicated {report.Duplicated}, "
                + $"problems {report.Problems.Count}",
            $"  attempts {journal.Attempts}, network errors {journal.NetworkErrors}, 503s {journal.Unavailable.Count}, refused: {refused}",
            $"  committed: {state.Tasks.Count} tasks, {state.Comments.Count} comments, {state.Log.Count} events; "
                + $"stream delivered {follower.Ids.Count} after {follower.Reconnects} reconnects",
        };
        lines.AddRange(injector.Windows.Select(w =>
            $"  {w.Start:HH:mm:ss.f} {w.Kind} {w.Detail} healthy again after {(w.End - w.Start).TotalSeconds:F1} s"));
        return string.Join('\n', lines);
    }
}
