using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.Auth;

namespace TaskManager.Mcp.Tools;

/// <summary>
/// Which tools a caller sees and may call, on the SDK's own machinery. The server's tool set (<c>Mcp:ToolSet</c>) is a
/// server setting, not a per-caller one: it trims the SDK's tool collection once at start, so tools/list never shows and
/// tools/call never finds ("Unknown tool", -32602) a tool outside it. The caller's rights are the SDK's authorization
/// filters: a tool that changes things requires <see cref="WritePolicy"/> (<c>[Authorize]</c>), which hides it from
/// tools/list for a token without the write scope and refuses a call of it.
/// </summary>
public static class ToolAccess
{
    /// <summary>The tools an agent that only needs to pick up and finish work sees with <c>Mcp:ToolSet=core</c>.</summary>
    private static readonly HashSet<string> CoreTools =
        ["find_tasks", "get_task", "claim_next_task", "manage_task", "add_comment", "heartbeat", "release_task"];

    public static IMcpServerBuilder WithToolAccess(this IMcpServerBuilder builder)
    {
        // Before our post-configuration below, which must come after the SDK's (see RefuseReadably).
        builder.AddAuthorizationFilters();
        builder.Services.AddOptions<McpServerOptions>()
            .PostConfigure<IOptions<McpSettings>>((options, settings) =>
            {
                KeepToolSet(options.ToolCollection, settings.Value.ToolSet);
                RefuseReadably(options);
            })
            .Validate(options => WritersUnguarded(options.ToolCollection).Length == 0, "Every tool that is not ReadOnly must require " +
                $"the write scope ([Authorize(Policy = WritePolicy.Name)]), or a read-only token could call it.")
            .ValidateOnStart();
        return builder;
    }

    private static void KeepToolSet(McpServerPrimitiveCollection<McpServerTool>? tools, string toolSet)
    {
        foreach (var tool in tools?.ToArray() ?? [])
        {
            var inSet = toolSet switch
            {
                "core" => CoreTools.Contains(tool.ProtocolTool.Name),
                "read-only" => IsReadOnly(tool),
                _ => true,
            };
            if (!inSet)
            {
                tools!.Remove(tool);
            }
        }
    }

    /// <summary>
    /// The SDK refuses an unauthorised tools/call with a JSON-RPC error (-32600, "Access forbidden: This tool requires
    /// authorization."); the model acts better on a tool error that says why. The SDK checks <c>[Authorize]</c> in the
    /// (experimental) alternate-result pipeline, outside every ordinary call-tool filter, inserting its check first in a
    /// post-configuration: inserted first after it, this wraps it.
    /// </summary>
    private static void RefuseReadably(McpServerOptions options)
    {
#pragma warning disable MCPEXP002 // The only pipeline that wraps the SDK's authorization check of tools/call.
        options.Filters.Request.CallToolWithAlternateFilters.Insert(0, async (context, next, ct) =>
        {
            try
            {
                return await next(context, ct);
            }
            catch (McpProtocolException e) when (e.ErrorCode == McpErrorCode.InvalidRequest && context.MatchedPrimitive is McpServerTool tool
                                                 && RequiresWrite(tool))
            {
                return McpServerExtensions.ErrorResult(
                    $"Tool '{tool.ProtocolTool.Name}' is not available to you: your token can only read (it lacks the write scope).");
            }
        });
#pragma warning restore MCPEXP002
    }

    private static bool IsReadOnly(McpServerTool tool) => tool.ProtocolTool.Annotations?.ReadOnlyHint == true;

    private static bool RequiresWrite(McpServerTool tool) => tool.Metadata.OfType<IAuthorizeData>().Any(a => a.Policy == WritePolicy.Name);

    private static string[] WritersUnguarded(McpServerPrimitiveCollection<McpServerTool>? tools) =>
        [.. (tools?.ToArray() ?? []).Where(t => !IsReadOnly(t) && !RequiresWrite(t)).Select(t => t.ProtocolTool.Name)];
}
