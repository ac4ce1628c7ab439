using System.Diagnostics;
using Aspire.Hosting.Testing;
using ModelContextProtocol.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>The mcp server's traces: a tool call is a span named after the MCP method and tool, with the api call under it.</summary>
public sealed class McpTracingTests(AppFixture app)
{
    [Fact]
    public async Task A_tool_call_is_one_trace_from_the_MCP_span_to_the_api_request()
    {
        var key = (await app.CreateApiClient().CreateProjectAsync()).GetProperty("key").GetString()!;
        await app.CreateApiClient().CreateTaskAsync(key, "Traced");
        var exported = new List<Activity>();
        await using var factory = new McpFactory(app.App.GetEndpoint("api", "http"), new Dictionary<string, string>(),
            services => services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(exported)));
        await using var client = await factory.ConnectAsync(app.AdminToken);

        // The call runs in a trace of the test's own: the exporter hears every MCP server and client in this process
        // (other test classes' too), and only this trace is this call's.
        using var root = new Activity("test").SetIdFormat(ActivityIdFormat.W3C);
        root.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        root.Start();
        var result = await client.CallToolAsync("claim_next_task", new Dictionary<string, object?> { ["project"] = key },
            cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        root.Stop();
        Assert.False(result.IsError is true);

        // Spans are exported as they end; the server's may end just after its answer reached the client.
        Activity[] spans = [];
        static bool IsTool(Activity s) => s.DisplayName == "tools/call claim_next_task" && s.Kind == ActivityKind.Server;
        static bool IsApiCall(Activity s) => s.Kind == ActivityKind.Client && s.GetTagItem("url.full")?.ToString()?.Contains("/api/tasks/claim") == true;
        for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline; await Task.Delay(100, TestHelpers.Ct))
        {
            factory.Services.GetRequiredService<TracerProvider>().ForceFlush(1000);
            lock (exported)
            {
                spans = [.. exported.Where(s => s.TraceId == root.TraceId)];
            }
            if (spans.Any(IsTool) && spans.Any(IsApiCall))
            {
                break;
            }
        }
        var tool = Assert.Single(spans, IsTool);
        Assert.Equal("claim_next_task", tool.GetTagItem("gen_ai.tool.name"));
        var apiCall = Assert.Single(spans, IsApiCall);
        Assert.Contains(tool.SpanId, Ancestors(apiCall, spans));
    }

    private static IEnumerable<ActivitySpanId> Ancestors(Activity span, Activity[] spans)
    {
        for (var parent = span.ParentSpanId; parent != default; parent = spans.FirstOrDefault(s => s.SpanId == parent)?.ParentSpanId ?? default)
        {
            yield return parent;
        }
    }
}
