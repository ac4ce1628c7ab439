using System.ComponentModel;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Auth;

namespace TaskManager.Mcp.Tools;

/// <summary>Keeping a claimed task (heartbeat) and handing it back with a note for the next agent (release_task).</summary>
[McpServerToolType]
public sealed class LeaseTools(TaskApiClient api)
{
    [McpServerTool(Name = "heartbeat", Title = "Keep your lease on a claimed task", Destructive = false, Idempotent = true),
     Authorize(Policy = WritePolicy.Name),
     Description("Renews your lease on a claimed task. Needed only during long work without writes.")]
    public Task<LeaseDto> Heartbeat(
        [Description("The task (ref or id).")] string task,
        [Description(ToolInput.LeaseIdDescription)] string? leaseId = null,
        CancellationToken ct = default)
    {
        var reference = ToolInput.Task(task, "task", "heartbeat");
        var lease = ToolInput.LeaseId(leaseId);
        return ApiCalls.Run(() => api.HeartbeatAsync(reference, lease, ct));
    }

    [McpServerTool(Name = "release_task", Title = "Hand a task back with a handoff note", Destructive = false),
     Authorize(Policy = WritePolicy.Name),
     Description("Hands a task back to todo with a note for the next claimer, when you stop before finishing.")]
    public async Task<TaskDto> ReleaseTask(
        [Description("The task (ref or id).")] string task,
        [Description("What was done.")] string summary,
        [Description("What is left.")] string? remaining = null,
        string[]? files = null,
        string? branch = null,
        [Description("http(s) URLs.")] string[]? links = null,
        [Description(ToolInput.LeaseIdDescription)] string? leaseId = null,
        [Description(ToolInput.RequestIdDescription)] string? requestId = null,
        CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(summary))
        {
            throw new McpException("summary must say what was done.");
        }
        var reference = ToolInput.Task(task, "task", "release_task");
        var lease = ToolInput.LeaseId(leaseId);
        var id = ToolInput.RequestId(requestId);
        var handoff = new JsonObject { ["summary"] = summary };
        if (remaining is not null)
        {
            handoff["remaining"] = remaining;
        }
        if (files is not null)
        {
            handoff["files"] = new JsonArray([.. files.Select(f => (JsonNode?)f)]);
        }
        if (branch is not null)
        {
            handoff["branch"] = branch;
        }
        if (links is not null)
        {
            handoff["links"] = new JsonArray([.. links.Select(l => (JsonNode?)l)]);
        }
        return await ApiCalls.Write("release_task", id, () => api.ReleaseTaskAsync(reference, handoff, lease, id, ct));
    }
}
