using System.Security.Cryptography;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

[assembly: AssemblyFixture(typeof(TaskManager.Tests.Infrastructure.AppFixture))]

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// The whole application (AppHost: postgres, api, mcp) started once for the test run, on a throwaway database run
/// from the local server binaries (pinned, so a machine with a container runtime runs the same tests).
/// Whole-app tests talk to its api and mcp; fast api tests run their own in-process api on its Postgres.
/// </summary>
public sealed class AppFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private DistributedApplication? _app;
    private Lazy<ApiFactory>? _api;
    private Lazy<LoopbackApi>? _loopback;

    public string AdminToken { get; } = "test-admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>Connection string of the <c>tasks</c> database.</summary>
    /// <summary>The tasks database as the api signs in to it: the application's role, no superuser.</summary>
    public string DatabaseConnectionString { get; private set; } = "";

    /// <summary>The tasks database as the server's superuser: for tests that create databases or roles.</summary>
    public string AdminConnectionString { get; private set; } = "";

    /// <summary>An in-process api on the same database, for fast tests.</summary>
    public ApiFactory Api => (_api ?? throw new InvalidOperationException("The app has not started.")).Value;

    /// <summary>
    /// An in-process api on real Kestrel (a loopback port), on the same database: for tests of what arrives over a real
    /// socket, which the test server never sees (raw bytes, request-line and header limits, invalid percent-encoding).
    /// </summary>
    public LoopbackApi Loopback => (_loopback ?? throw new InvalidOperationException("The app has not started.")).Value;

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var ct = timeout.Token;
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.TaskManager_AppHost>(
            [$"--Parameters:admin-token={AdminToken}", "--Postgres:Mode=local", "--Postgres:Ephemeral=true"], ct).WaitAsync(StartTimeout, ct);

        WithoutTelemetryExport(builder);
        _app = await builder.BuildAsync(ct).WaitAsync(StartTimeout, ct);
        await _app.StartAsync(ct).WaitAsync(StartTimeout, ct);
        foreach (var resource in new[] { "postgres", "tasks", "api", "mcp" })
        {
            await _app.ResourceNotifications.WaitForResourceHealthyAsync(resource, ct).WaitAsync(StartTimeout, ct);
        }
        DatabaseConnectionString = await _app.GetConnectionStringAsync("tasks", ct).AsTask().WaitAsync(StartTimeout, ct)
            ?? throw new InvalidOperationException("The tasks database has no connection string.");
        AdminConnectionString = (await _app.GetConnectionStringAsync("postgres", ct).AsTask().WaitAsync(StartTimeout, ct)
            ?? throw new InvalidOperationException("The postgres server has no connection string.")) + ";Database=tasks";
        // Test classes run in parallel: exactly one in-process api for all of them.
        _api = new Lazy<ApiFactory>(() => new ApiFactory(DatabaseConnectionString, AdminToken), LazyThreadSafetyMode.ExecutionAndPublication);
        // Limits off, as for the shared in-process api: every test class shares its admin token.
        _loopback = new Lazy<LoopbackApi>(() => new LoopbackApi(DatabaseConnectionString, AdminToken, web => web.UseSetting("Limits:Enabled", "false")),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>
    /// Another AppHost of the test's own (settings as command-line arguments, the admin token added), started and
    /// handed out once its api is healthy.
    /// </summary>
    public async Task<DistributedApplication> StartAppHostAsync(params string[] settings)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.TaskManager_AppHost>(
            [.. settings, $"--Parameters:admin-token={AdminToken}"], TestHelpers.Ct).WaitAsync(StartTimeout, TestHelpers.Ct);
        WithoutTelemetryExport(builder);
        var started = await builder.BuildAsync(TestHelpers.Ct).WaitAsync(StartTimeout, TestHelpers.Ct);
        using var start = CancellationTokenSource.CreateLinkedTokenSource(TestHelpers.Ct);
        start.CancelAfter(StartTimeout);
        await started.StartAsync(start.Token).WaitAsync(StartTimeout, TestHelpers.Ct);
        await started.ResourceNotifications.WaitForResourceHealthyAsync("api", start.Token).WaitAsync(StartTimeout, TestHelpers.Ct);
        return started;
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is { IsValueCreated: true })
        {
            await _api.Value.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
        if (_loopback is { IsValueCreated: true })
        {
            await _loopback.Value.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
        if (_app is not null)
        {
            await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
            await _app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>No dashboard collects telemetry in tests; without this each service spends ~15 s retrying exports at shutdown.</summary>
    public static void WithoutTelemetryExport(IDistributedApplicationTestingBuilder builder)
    {
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment(env => env.EnvironmentVariables.Remove("OTEL_EXPORTER_OTLP_ENDPOINT"));
        }
    }

    /// <summary>An HttpClient for the AppHost's api, signed in with <paramref name="token"/> (admin when null).</summary>
    public HttpClient CreateApiClient(string? token = null) => Authorize(App.CreateHttpClient("api"), token ?? AdminToken);

    public Uri McpEndpoint => new(App.GetEndpoint("mcp", "http"), "/mcp");

    public static HttpClient Authorize(HttpClient client, string? token)
    {
        client.Timeout = TimeSpan.FromSeconds(30);
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        }
        return client;
    }
}
