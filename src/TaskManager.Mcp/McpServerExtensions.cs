using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using Polly;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Auth;
using TaskManager.Mcp.Completions;
using TaskManager.Mcp.Prompts;
using TaskManager.Mcp.Resources;
using TaskManager.Mcp.Tools;

namespace TaskManager.Mcp;

public static class McpServerExtensions
{
    private const string About = """
        TaskManager: a task board shared by people and agents. Tasks have a ref like WEB-42, a status
        (todo, doing, review, done), a priority, an assignee, labels, blockers and a version.
        """;

    /// <summary>Server instructions for each tool set; each names only tools that set offers.</summary>
    public static string Instructions(string toolSet) => About + toolSet switch
    {
        "read-only" => """
            This server only reads: find_projects and find_tasks list, get_task shows a task in full,
            task_history shows who changed what.
            """,
        "core" => """
            Workflow: claim_next_task (atomically gives you the best ready task, in doing, under a lease) ->
            get_task -> work, logging progress with add_comment -> manage_task action=update status=review or done.
            Pass the claim's lease.id as leaseId to your writes while in doing; heartbeat keeps the lease, or the
            task goes back to todo. Stopping early: release_task with a handoff note. Always pass expectedVersion
            from what you last read; on a version conflict, re-read and retry. find_tasks lists tasks.
            """,
        _ => """
            Workflow: claim_next_task (atomically gives you the best ready task, in doing, under a lease) ->
            get_task -> work, logging progress with add_comment -> manage_task action=update status=review or done.
            Pass the claim's lease.id as leaseId to your writes while in doing; heartbeat keeps the lease, or the
            task goes back to todo. Stopping early: release_task with a handoff note. Always pass expectedVersion
            from what you last read; on a version conflict, re-read and retry. find_tasks and find_projects list; manage_task, manage_project and manage_dependency change things;
            create_plan creates a whole plan (tasks, subtasks, blockers) in one call.
            A token that can only read sees only the reading tools.
            """,
    };

    /// <summary>
    /// Tool arguments and results: the SDK's default options, with our contracts first (Native AOT has no
    /// reflection-based serializer to fall back on).
    /// </summary>
    internal static readonly JsonSerializerOptions ToolJson = CreateToolJson();

    private const string McpTelemetry = "Experimental.ModelContextProtocol";

    private static JsonSerializerOptions CreateToolJson()
    {
        var options = new JsonSerializerOptions(McpJsonUtilities.DefaultOptions)
        {
            // The model reads this JSON as text: "Café <b>" stays as written instead of "Caf\u00E9 \u003Cb\u003E"
            // (the default encoder escapes for embedding in HTML, which a tool result never is), which also costs
            // tokens for every non-ASCII character.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.TypeInfoResolverChain.Insert(0, McpJsonContext.Default);
        options.MakeReadOnly();
        return options;
    }

    public static WebApplicationBuilder AddTaskApiClient(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpContextAccessor();
#pragma warning disable EXTEXP0001 // Experimental, and the documented way to replace the default resilience handler of one client.
        var apiAddress = McpSettings.ValidApiAddress(builder.Configuration);
        builder.Services.AddHttpClient<TaskApiClient>(http => http.BaseAddress = new Uri(apiAddress))
            .RemoveAllResilienceHandlers()
#pragma warning restore EXTEXP0001
            .AddStandardResilienceHandler(options =>
            {
                // A write that reached the api but timed out must not be sent again blindly: a repeated PATCH would
                // report its own first attempt as "changed by someone else". Every write of a tool carries an
                // Idempotency-Key (the agent's requestId or one per call), so a repeat gets the first answer. A 503 is the api's considered answer (its database is unavailable, and it
                // already waited for it): the agent hears it at once, with when to retry, instead of after a chain of
                // retries.
                var transient = options.Retry.ShouldHandle;
                options.Retry.ShouldHandle = async args =>
                    IsSafeToRepeat(args.Context.GetRequestMessage())
                    && args.Outcome.Result?.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable
                    && await transient(args);
                // The api answers within about 5 s even when its database is frozen (its own limits): wait that long
                // for an attempt, and report an api that does not answer at all within 7 s.
                options.Retry.MaxRetryAttempts = 2;
                options.Retry.Delay = TimeSpan.FromMilliseconds(100);
                options.AttemptTimeout.Timeout = TimeSpan.FromSeconds(6);
                options.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(7);
                options.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(12);
            });
        return builder;
    }

    private static bool IsSafeToRepeat(HttpRequestMessage? request) =>
        request is not null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Headers.Contains("Idempotency-Key"));

    public static WebApplicationBuilder AddCallerAuthentication(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiTokenHandler.TokenCache>();
        builder.Services.AddAuthentication(ApiTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiTokenHandler>(ApiTokenHandler.SchemeName, _ => { });
        builder.Services.AddAuthorization(WritePolicy.Add);
        return builder;
    }

    public static WebApplicationBuilder AddTaskManagerMcpServer(this WebApplicationBuilder builder)
    {
        // The tool set (McpSettings: all, core or read-only; a token without the write scope only sees the read-only tools).
        McpSettings.Add(builder.Services);
        builder.Services.AddOptions<McpServerOptions>().Configure<IOptions<McpSettings>>((options, settings) =>
            options.ServerInstructions = Instructions(settings.Value.ToolSet));
        builder.Services.AddInvalidParamsResponses();
        // The SDK's spans and metrics (OpenTelemetry's MCP conventions: "tools/call claim_next_task", with the api call
        // and its SQL beneath it in the same trace).
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(McpTelemetry))
            .WithMetrics(metrics => metrics.AddMeter(McpTelemetry));
        builder.Services.AddMcpServer(options => options.ServerInfo = new Implementation { Name = "taskmanager", Version = "0.1.0" })
            .WithHttpTransport(options => options.Stateless = true)
            .WithInvalidParamsErrors()
            .WithTools<TaskTools>(ToolJson)
            .WithTools<LeaseTools>(ToolJson)
            .WithTools<ProjectTools>(ToolJson)
            .WithTools<PlanTools>(ToolJson)
            .WithResources<BoardResources>()
            .WithPrompts<WorkflowPrompts>()
            .WithToolAccess()
            .WithReferenceCompletions()
            .WithRequestFilters(filters => filters.AddCallToolFilter(next => async (context, ct) =>
            {
                if (context.MatchedPrimitive is McpServerTool tool
                    && ArgumentCheck.Problem(tool.ProtocolTool, context.Params?.Arguments) is { } problem)
                {
                    return ErrorResult(problem);
                }
                try
                {
                    return await next(context, ct);
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
                {
                    // What the schema check cannot see; without this the model only sees "An error occurred invoking 'x'".
                    return ErrorResult($"Invalid arguments for '{context.Params?.Name}': {e.Message}");
                }
            }));
        return builder;
    }

    /// <summary>A tool error: a result the model reads (isError), not a JSON-RPC error.</summary>
    internal static CallToolResult ErrorResult(string text) =>
        new() { IsError = true, Content = [new TextContentBlock { Text = text }] };

    /// <summary>
    /// Refuses browser requests from other sites (DNS rebinding, cross-site calls): an <c>Origin</c>, when sent, must be
    /// this server's own origin (same scheme, host and port) or one listed in <c>Mcp:AllowedOrigins</c>. Host filtering
    /// (<c>AllowedHosts</c>) already refuses foreign Host headers.
    /// </summary>
    public static WebApplication UseOriginCheck(this WebApplication app)
    {
        var allowedOrigins = app.Services.GetRequiredService<IOptions<McpSettings>>().Value.AllowedOrigins
            .Select(o => o.TrimEnd('/'))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        app.Use(async (context, next) =>
        {
            var origin = context.Request.Headers.Origin.ToString();
            var own = $"{context.Request.Scheme}://{context.Request.Host}";
            if (origin.Length > 0 && !string.Equals(origin, own, StringComparison.OrdinalIgnoreCase) && !allowedOrigins.Contains(origin))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsync($"Origin '{origin}' is not allowed.");
                return;
            }
            await next(context);
        });
        return app;
    }
}
