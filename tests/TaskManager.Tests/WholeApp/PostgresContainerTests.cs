using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>
/// PostgreSQL in a real container (podman, with the stand-in image this machine can build), and what the AppHost does
/// when the container cannot run. The shared app pins local binaries; these tests are the ones that mean containers.
/// </summary>
[Collection(ContainerCollection.Name)]
public sealed class PostgresContainerTests
{
    private static readonly TimeSpan AppHostExitTimeout = TimeSpan.FromMinutes(3);

    private readonly string _adminToken = "test-admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    [Fact]
    public async Task Container_mode_runs_postgres_in_podman_and_the_api_signed_in_as_its_own_role_and_mcp_work_on_it()
    {
        await Podman.EnsureStandInsAsync("postgres");
        var builder = await CreateAppHostAsync("--Postgres:Mode=container");
        Assert.IsType<PostgresServerResource>(builder.Resources.Single(r => r.Name == "postgres"));
        var container = new PodmanContainer();
        try
        {
            await using (var app = await builder.BuildAsync(TestHelpers.Ct).Timeout())
            {
                await StartAsync(app);
                await container.RecordAsync(app);

                var api = AppFixture.Authorize(app.CreateHttpClient("api"), _adminToken);
                var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
                var project = await api.GetFromJsonAsync<JsonElement>($"/api/projects/{key}", TestHelpers.Ct).Timeout();
                Assert.Equal($"Project {key}", project.GetProperty("title").GetString());
                await PostgresModeTests.AssertLeastPrivilegeAsync((await app.GetConnectionStringAsync("tasks", TestHelpers.Ct).AsTask().Timeout())!);

                await using var mcp = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
                {
                    Endpoint = new Uri(app.GetEndpoint("mcp", "http"), "/mcp"),
                    TransportMode = HttpTransportMode.StreamableHttp,
                    AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {_adminToken}" },
                }), cancellationToken: TestHelpers.Ct).Timeout();
                var found = await mcp.CallToolAsync("find_projects", new Dictionary<string, object?> { ["query"] = key },
                    cancellationToken: TestHelpers.Ct).AsTask().Timeout();
                Assert.NotEqual(true, found.IsError);
                Assert.Contains(key, string.Join("\n", found.Content.OfType<TextContentBlock>().Select(c => c.Text)));

                await app.StopAsync(TestHelpers.Ct).WaitAsync(TimeSpan.FromMinutes(1), TestHelpers.Ct);
            }
        }
        finally
        {
            await container.RemoveAsync();
        }
    }

    [Fact]
    public async Task A_postgres_container_that_cannot_start_stops_the_apphost_with_an_error_naming_the_fix()
    {
        await Podman.EnsureStandInsAsync("postgres");
        var tag = MissingTag();
        var missing = $"docker.io/library/postgres:{tag}";

        // `dotnet run` as a person runs it, dashboard included: with the dashboard on, Aspire waits for a failed resource
        // to be restarted, which used to leave the AppHost hanging without a word.
        var run = await ChildProcess.RunAsync(AppHostProcess(
            "--Postgres:Mode=container", $"--Postgres:ImageTag={tag}", "--Postgres:Ephemeral=true"), AppHostExitTimeout);

        var output = run.Output + run.Errors;
        Assert.True(run.ExitCode == 1, $"exit code {run.ExitCode}:\n{output}");
        Assert.Contains($"has no image {missing} and could not pull it", output);
        Assert.Contains($"podman pull {missing}", output);
        Assert.Contains("Postgres:Mode=local", output);
        Assert.Contains("Postgres:Mode=external", output);
        Assert.DoesNotContain("Hosting failed to start", output);
    }

    [Fact]
    public async Task Auto_mode_uses_the_container_when_the_runtime_has_the_image()
    {
        await Podman.EnsureStandInsAsync("postgres");

        var builder = await CreateAppHostAsync("--Postgres:Mode=auto");

        var server = Assert.IsType<PostgresServerResource>(builder.Resources.Single(r => r.Name == "postgres"));
        Assert.Same(server, Assert.IsType<ApplicationDatabaseResource>(builder.Resources.Single(r => r.Name == "tasks")).Parent);
    }

    [Fact]
    public async Task Auto_mode_falls_back_to_local_binaries_when_the_image_is_missing_and_cannot_be_pulled()
    {
        await Podman.EnsureStandInsAsync("postgres");

        var builder = await CreateAppHostAsync("--Postgres:Mode=auto", $"--Postgres:ImageTag={MissingTag()}");

        Assert.IsType<LocalPostgresServerResource>(builder.Resources.Single(r => r.Name == "postgres"));
        Assert.DoesNotContain(builder.Resources, r => r is PostgresServerResource);
        await using var app = await builder.BuildAsync(TestHelpers.Ct).Timeout();
        await StartAsync(app);
        var api = AppFixture.Authorize(app.CreateHttpClient("api"), _adminToken);
        var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/api/projects/{key}", TestHelpers.Ct).Timeout()).StatusCode);
        await app.StopAsync(TestHelpers.Ct).WaitAsync(TimeSpan.FromMinutes(1), TestHelpers.Ct);
    }

    /// <summary>An ephemeral AppHost on podman (named by setting, as Aspire's DCP reads it) with the given settings.</summary>
    private async Task<IDistributedApplicationTestingBuilder> CreateAppHostAsync(params string[] settings)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.TaskManager_AppHost>(
            [.. settings, "--Postgres:Ephemeral=true", "--ASPIRE_CONTAINER_RUNTIME=podman", $"--Parameters:admin-token={_adminToken}"],
            TestHelpers.Ct).WaitAsync(AppFixture.StartTimeout, TestHelpers.Ct);
        AppFixture.WithoutTelemetryExport(builder);
        return builder;
    }

    private static async Task StartAsync(DistributedApplication app)
    {
        using var start = CancellationTokenSource.CreateLinkedTokenSource(TestHelpers.Ct);
        start.CancelAfter(AppFixture.StartTimeout);
        await app.StartAsync(start.Token).WaitAsync(AppFixture.StartTimeout, TestHelpers.Ct);
        foreach (var resource in new[] { "postgres", "tasks", "api", "mcp" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, start.Token).WaitAsync(AppFixture.StartTimeout, TestHelpers.Ct);
        }
    }

    /// <summary>A tag no registry has, so no test can pull it by chance.</summary>
    private static string MissingTag() => "taskmanager-test-missing-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    /// <summary>
    /// The AppHost as <c>dotnet run</c> starts it, without the launch profile's fixed ports: the dashboard and every
    /// service get free ports, so this runs beside the test run's own app or a developer's.
    /// </summary>
    private ProcessStartInfo AppHostProcess(params string[] settings)
    {
        var configuration = typeof(PostgresContainerTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var start = new ProcessStartInfo("dotnet",
            ["run", "--no-build", "--no-launch-profile", "-c", configuration, "--project", Projects.TaskManager_AppHost.ProjectPath,
             "--", .. settings, $"--Parameters:admin-token={_adminToken}"]);
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = "http://127.0.0.1:0";
        start.Environment["DcpPublisher__RandomizePorts"] = "true";
        start.Environment["ASPIRE_CONTAINER_RUNTIME"] = "podman";
        return start;
    }

    /// <summary>
    /// The postgres container and its volumes (the image declares one), removed after the app: Aspire removes the
    /// container itself a little after the AppHost stops; this makes sure, and takes the volumes too.
    /// </summary>
    private sealed class PodmanContainer
    {
        private string? _id;
        private IReadOnlyList<string> _volumes = [];

        public async Task RecordAsync(DistributedApplication app)
        {
            Assert.True(app.ResourceNotifications.TryGetCurrentState("postgres", out var postgres));
            _id = postgres.Snapshot.Properties.Single(p => p.Name == "container.id").Value?.ToString();
            Assert.False(string.IsNullOrEmpty(_id), "The postgres resource has no container id.");
            var mounts = await Podman.RunAsync(["container", "inspect", "--format", "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}", _id]);
            _volumes = mounts.Output.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        public async Task RemoveAsync()
        {
            if (_id is null)
            {
                return;
            }
            for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(500, TestHelpers.Ct))
            {
                if ((await Podman.RunAsync(["container", "exists", _id], mayFail: true)).ExitCode != 0)
                {
                    break;
                }
            }
            await Podman.RunAsync(["rm", "--force", "--volumes", _id], mayFail: true);
            foreach (var volume in _volumes)
            {
                await Podman.RunAsync(["volume", "rm", "--force", volume], mayFail: true);
            }
            Assert.NotEqual(0, (await Podman.RunAsync(["container", "exists", _id], mayFail: true)).ExitCode);
        }
    }
}
