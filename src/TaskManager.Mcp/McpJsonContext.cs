using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Tools;

namespace TaskManager.Mcp;

/// <summary>
/// Source-generated JSON (Native AOT has no reflection-based serializer) for the api's bodies as the client reads and
/// writes them, and for the tools' arguments and results.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(WhoAmI))]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(TaskDto))]
[JsonSerializable(typeof(TaskDto[]))]
[JsonSerializable(typeof(Page<TaskSummary>))]
[JsonSerializable(typeof(ProjectDto))]
[JsonSerializable(typeof(Page<ProjectDto>))]
[JsonSerializable(typeof(CommentDto))]
[JsonSerializable(typeof(Page<CommentDto>))]
[JsonSerializable(typeof(Page<EventDto>))]
[JsonSerializable(typeof(TaskList))]
[JsonSerializable(typeof(TaskDetail))]
[JsonSerializable(typeof(ClaimResult))]
[JsonSerializable(typeof(LeaseDto))]
[JsonSerializable(typeof(HandoffDto[]))]
[JsonSerializable(typeof(HistoryPage))]
[JsonSerializable(typeof(ProjectList))]
[JsonSerializable(typeof(PlanTask[]))]
[JsonSerializable(typeof(PlanDto))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(int?))]
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(Status?))]
[JsonSerializable(typeof(Status[]))]
[JsonSerializable(typeof(Priority?))]
[JsonSerializable(typeof(Priority[]))]
[JsonSerializable(typeof(ManageTaskAction))]
[JsonSerializable(typeof(ManageProjectAction))]
[JsonSerializable(typeof(ManageDependencyAction))]
public sealed partial class McpJsonContext : JsonSerializerContext;
