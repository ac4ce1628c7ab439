using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// Secrets travel in query strings (<c>/api/events?ticket=…</c>), so the values must reach neither traces nor logs,
/// even where Aspire turns OpenTelemetry's own query redaction off (Development) or someone turns logging up.
/// </summary>
public sealed class QueryRedactionTests(AppFixture app)
{
    private static readonly TimeSpan ActivityWait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Query_values_stay_out_of_traces_even_with_redaction_turned_off()
    {
        var secret = NewSecret();
        var stopped = new ConcurrentQueue<Activity>();
        // Process-wide: it also sees other tests' requests, which is fine, as none of them carries this secret.
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var capture = new CapturingLoggerProvider();
        await using var api = StartTelemetryApi(capture);
        using var client = api.CreateApiClient();

        foreach (var url in new[] { $"/api/projects?secretish={secret}&limit=5", $"/health?x={secret}" })
        {
            using var response = await client.GetAsync(url, TestHelpers.Ct).Timeout();
        }

        var server = await WaitForAsync(stopped, a => a.Source.Name == "Microsoft.AspNetCore" && Tag(a, "url.path") == "/api/projects"
            && Tag(a, "server.port") == api.Address.Port.ToString());
        Assert.Equal("?secretish=Redacted&limit=Redacted", Tag(server, "url.query"));
        var outgoing = await WaitForAsync(stopped, a => a.Source.Name == "System.Net.Http" && Tag(a, "url.full")?.Contains("/api/projects?") == true
            && Tag(a, "server.port") == api.Address.Port.ToString());
        Assert.Equal($"http://127.0.0.1:{api.Address.Port}/api/projects?secretish=Redacted&limit=Redacted", Tag(outgoing, "url.full"));
        await WaitForAsync(stopped, a => a.Source.Name == "System.Net.Http" && Tag(a, "url.full")?.Contains("/health?") == true
            && Tag(a, "server.port") == api.Address.Port.ToString());

        var leaks = stopped
            .SelectMany(a => a.TagObjects.Select(t => $"{a.Source.Name} {a.DisplayName} tag {t.Key}={t.Value}")
                .Concat(a.Baggage.Select(b => $"{a.Source.Name} {a.DisplayName} baggage {b.Key}={b.Value}"))
                .Append($"{a.Source.Name} display name {a.DisplayName}"))
            .Where(text => text.Contains(secret, StringComparison.Ordinal))
            .ToList();
        Assert.Empty(leaks);
    }

    [Fact]
    public async Task Query_values_stay_out_of_logs_even_at_trace_level()
    {
        var secret = NewSecret();
        var capture = new CapturingLoggerProvider();
        await using var api = StartTelemetryApi(capture);
        using var client = api.CreateApiClient();

        foreach (var url in new[] { $"/api/projects?secretish={secret}", $"/health?x={secret}" })
        {
            using var response = await client.GetAsync(url, TestHelpers.Ct).Timeout();
        }
        // The api's own HttpClient logs its requests too ("Start processing HTTP request …").
        using var ownClient = api.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        using var own = await ownClient.GetAsync($"{api.Address}alive?x={secret}", TestHelpers.Ct).Timeout();

        var logs = capture.Lines.ToList();
        Assert.Contains(logs, line => line.Contains("/api/projects", StringComparison.Ordinal));
        Assert.Contains(logs, line => line.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) && line.Contains("/alive"));
        Assert.DoesNotContain(logs, line => line.Contains(secret, StringComparison.Ordinal));
    }

    private static string NewSecret() => "abc123" + Guid.NewGuid().ToString("N")[..12];

    private static string? Tag(Activity activity, string name) => activity.GetTagItem(name)?.ToString();

    /// <summary>A server activity stops after its response has been sent, so it may arrive a moment after the client's answer.</summary>
    private static async Task<Activity> WaitForAsync(ConcurrentQueue<Activity> stopped, Func<Activity, bool> match)
    {
        var deadline = DateTime.UtcNow + ActivityWait;
        while (true)
        {
            if (stopped.FirstOrDefault(match) is { } found)
            {
                return found;
            }
            Assert.True(DateTime.UtcNow < deadline, "The expected activity was not recorded.");
            await Task.Delay(50, TestHelpers.Ct);
        }
    }

    /// <summary>
    /// The api on a real port (so requests go through System.Net.Http's instrumented handler), with OpenTelemetry's
    /// query redaction turned off the way Aspire turns it off, and every log category turned up to Trace into
    /// <paramref name="logs"/>. The instrumentation reads that switch from the host's configuration, so no process-wide
    /// environment variable is needed.
    /// </summary>
    private LoopbackApi StartTelemetryApi(CapturingLoggerProvider logs) =>
        new(app.DatabaseConnectionString, app.AdminToken, builder =>
        {
            builder.UseSetting("OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION", "true");
            builder.UseSetting("OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION", "true");
            builder.UseSetting("Logging:LogLevel:Default", "Trace");
            builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore", "Trace");
            builder.UseSetting("Logging:Capture:LogLevel:Microsoft.AspNetCore.Hosting", "Trace");
            builder.ConfigureLogging(logging =>
            {
                // Only the capture: Trace-level output on the console would bury the test run's own.
                logging.ClearProviders();
                logging.AddProvider(logs);
            });
        });

    [ProviderAlias("Capture")]
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider? _scopes;

        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scopes = new List<string>();
                provider._scopes?.ForEachScope((scope, list) => list.Add(scope?.ToString() ?? ""), scopes);
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                provider.Lines.Enqueue($"{category} [{logLevel}] {formatter(state, exception)} {values} {exception} scopes: {string.Join(" | ", scopes)}");
            }
        }
    }
}
