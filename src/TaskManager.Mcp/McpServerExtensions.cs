using Microsoft.AspNetCore.Authentication;
using ModelContextProtocol.Protocol;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Auth;
using TaskManager.Mcp.Tools;

namespace TaskManager.Mcp;

public static class McpServerExtensions
{
    public const string Instructions = """
        TaskManager: a task board shared by people and agents. Tasks have a ref like WEB-42, a status
        (todo, doing, review, done), a priority, an assignee, labels and a version.
        Workflow: find_tasks (ready=true for work you can start) -> manage_task action=update to set
        status=doing and assignee to yourself -> do the work -> manage_task status=review or done.
        Always pass expectedVersion from what you last read; on a version conflict, re-read and retry.
        """;

    public static WebApplicationBuilder AddTaskApiClient(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddHttpClient<TaskApiClient>(http =>
            http.BaseAddress = new Uri(builder.Configuration["TaskApi:BaseAddress"] ?? "https+http://api"));
        return builder;
    }

    public static WebApplicationBuilder AddCallerAuthentication(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddAuthentication(ApiTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiTokenHandler>(ApiTokenHandler.SchemeName, _ => { });
        builder.Services.AddAuthorization();
        return builder;
    }

    public static WebApplicationBuilder AddTaskManagerMcpServer(this WebApplicationBuilder builder)
    {
        builder.Services.AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = "taskmanager", Version = "0.1.0" };
                options.ServerInstructions = Instructions;
            })
            .WithHttpTransport(options => options.Stateless = true)
            .WithTools<TaskTools>()
            .WithRequestFilters(filters => filters.AddCallToolFilter(next => async (context, ct) =>
            {
                try
                {
                    return await next(context, ct);
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
                {
                    // Without this the model only sees "An error occurred invoking 'x'".
                    return new CallToolResult
                    {
                        IsError = true,
                        Content = [new TextContentBlock { Text = $"Invalid arguments for '{context.Params?.Name}': {e.Message}" }],
                    };
                }
            }));
        return builder;
    }

    /// <summary>
    /// Refuses browser requests from other sites (DNS rebinding, cross-site calls): an <c>Origin</c>, when sent, must
    /// name a host this server accepts. Host filtering (<c>AllowedHosts</c>) already refuses foreign Host headers.
    /// </summary>
    public static WebApplication UseOriginCheck(this WebApplication app)
    {
        var allowedHosts = (app.Configuration["AllowedHosts"] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(h => h.Trim('[', ']'))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        app.Use(async (context, next) =>
        {
            var origin = context.Request.Headers.Origin.ToString();
            if (origin.Length > 0 && !allowedHosts.Contains("*")
                && (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || !allowedHosts.Contains(uri.Host.Trim('[', ']'))))
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
