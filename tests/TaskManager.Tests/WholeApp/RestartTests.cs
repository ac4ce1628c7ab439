using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>The app stopped and its run command given again at once, on one persistent data directory.</summary>
public sealed class RestartTests(AppFixture app)
{
    [Fact]
    public async Task Stopped_and_started_again_at_once_twice_the_app_starts_each_time_with_its_data_handed_to_its_role()
    {
        var data = Directory.CreateTempSubdirectory("taskmanager-restart-");
        try
        {
            string? key = null;
            for (var run = 1; run <= 3; run++)
            {
                await using var started = await app.StartAppHostAsync("--Postgres:Mode=local", $"--Postgres:DataDirectory={data.FullName}");
                var client = AppFixture.Authorize(started.CreateHttpClient("api"), app.AdminToken);
                if (key is null)
                {
                    key = (await client.CreateProjectAsync()).GetProperty("key").GetString();
                    await MakeItLookLikeAnEarlierVersionAsync(started);
                }
                else
                {
                    var kept = await client.GetAsync($"/api/projects/{key}", TestHelpers.Ct).Timeout();
                    Assert.True(kept.StatusCode == HttpStatusCode.OK, $"Run {run}: the project of the first run answered {(int)kept.StatusCode}.");
                    await client.CreateTaskAsync(key, $"Written in run {run}");
                }
                await started.StopAsync(TestHelpers.Ct).WaitAsync(AppFixture.StartTimeout, TestHelpers.Ct);
                if (run == 1)
                {
                    await LeaveAServerStoppingAsync(data.FullName);
                }
            }
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    /// <summary>
    /// As after <c>dotnet run</c> is stopped: the orchestrator may still be stopping the previous run's server on the
    /// data directory when the next run starts. One runs there for twelve more seconds.
    /// </summary>
    private static async Task LeaveAServerStoppingAsync(string root)
    {
        var data = Path.Combine(root, "data");
        var log = Path.Combine(Path.GetTempPath(), $"taskmanager-straggler-{Guid.NewGuid():N}.log");
        await PrivatePostgres.RunToolAsync("pg_ctl", "-D", data, "-l", log, "-w", "-o",
            $"-p {FreePort()} -c listen_addresses=127.0.0.1 -c unix_socket_directories=", "start").Timeout();
        _ = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(12));
            await PrivatePostgres.RunToolAsync("pg_ctl", "-D", data, "-m", "fast", "-w", "stop");
        });
    }

    /// <summary>
    /// Earlier versions signed the api in as the superuser, which then owned the database and everything in it: the
    /// next start hands them over to the application's role.
    /// </summary>
    private static async Task MakeItLookLikeAnEarlierVersionAsync(DistributedApplication started)
    {
        var server = await started.GetConnectionStringAsync("postgres", TestHelpers.Ct).AsTask().Timeout();
        await using var connection = new NpgsqlConnection($"{server};Database=tasks;Pooling=false");
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var command = new NpgsqlCommand("""
            ALTER DATABASE tasks OWNER TO postgres;
            DO $$
            DECLARE item record;
            BEGIN
                FOR item IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = 'public' AND c.relkind = 'r'
                LOOP
                    EXECUTE format('ALTER TABLE %s OWNER TO postgres', item.name);
                END LOOP;
                FOR item IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                            WHERE n.nspname = 'public'
                LOOP
                    EXECUTE format('ALTER FUNCTION %s OWNER TO postgres', item.name);
                END LOOP;
            END $$;
            """, connection);
        await command.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
