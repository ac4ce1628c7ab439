using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Auth;

namespace TaskManager.Mcp.Tools;

/// <summary>
/// One task of a plan as the model writes it. Fields the api would not know are refused here too (Disallow): dropped
/// silently, a "status" or a misspelt "blockers" would be a plan other than the one the model meant.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PlanTask(
    [property: Description("Unique in the plan, e.g. api-tests; blockedBy uses it.")] string Name,
    string Title,
    [property: Description("Markdown.")] string? Description = null,
    Priority? Priority = null,
    string[]? Labels = null,
    string? Assignee = null,
    [property: Description("yyyy-MM-dd.")] string? DueDate = null,
    [property: Description("Names of tasks in this plan, or refs of existing tasks, that must be done first.")] string[]? BlockedBy = null,
    PlanTask[]? Subtasks = null);

[McpServerToolType]
public sealed class PlanTools(TaskApiClient api)
{
    [McpServerTool(Name = "create_plan", Title = "Create a plan of tasks", Destructive = false),
     Authorize(Policy = WritePolicy.Name),
     Description("Creates a tree of tasks in todo in one step, all or none: subtasks nest, blockedBy links tasks by name. " +
                 "Returns each name's ref.")]
    public async Task<PlanDto> CreatePlan(
        [Description("Project key or id.")] string project,
        [Description("The tasks, in board order; at most 200 in all, 5 levels deep.")] PlanTask[] tasks,
        [Description(ToolInput.RequestIdDescription)] string? requestId = null,
        CancellationToken ct = default)
    {
        var id = ToolInput.RequestId(requestId);
        var body = new JsonObject
        {
            ["project"] = ToolInput.Project(project, "project", "create_plan"),
            ["tasks"] = JsonSerializer.SerializeToNode(tasks, McpJsonContext.Default.PlanTaskArray),
        };
        return await ApiCalls.Write("create_plan", id, () => api.CreatePlanAsync(body, id, ct));
    }
}
