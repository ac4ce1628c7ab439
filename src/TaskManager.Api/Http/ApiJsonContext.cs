using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Text.Json.Serialization;
using TaskManager.Api.Auth;
using TaskManager.Api.Comments;
using TaskManager.Api.Dependencies;
using TaskManager.Api.Events;
using TaskManager.Api.Plans;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;
using TaskManager.Api.Tasks.Claims;
using TaskManager.Api.Tasks.Leases;
using TaskManager.Api.Tasks.Ordering;

namespace TaskManager.Api.Http;

/// <summary>
/// Source-generated JSON for every body the api reads or writes. Unknown fields are refused, so a misspelt
/// field is an error the client sees instead of a silently ignored change.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ProjectDto))]
[JsonSerializable(typeof(Page<ProjectDto>))]
[JsonSerializable(typeof(CreateProjectRequest))]
[JsonSerializable(typeof(TaskDto))]
[JsonSerializable(typeof(Page<TaskDto>))]
[JsonSerializable(typeof(Page<TaskSummaryDto>))]
[JsonSerializable(typeof(CreateTaskRequest))]
[JsonSerializable(typeof(UpdateTaskRequest))]
[JsonSerializable(typeof(MoveTaskRequest))]
[JsonSerializable(typeof(ClaimTaskRequest))]
[JsonSerializable(typeof(ReleaseTaskRequest))]
[JsonSerializable(typeof(LeaseDto))]
[JsonSerializable(typeof(HandoffDto[]))]
[JsonSerializable(typeof(AddBlockerRequest))]
[JsonSerializable(typeof(CreatePlanRequest))]
[JsonSerializable(typeof(PlanDto))]
[JsonSerializable(typeof(TaskDto[]))]
[JsonSerializable(typeof(UpdateProjectRequest))]
[JsonSerializable(typeof(CommentDto))]
[JsonSerializable(typeof(Page<CommentDto>))]
[JsonSerializable(typeof(AddCommentRequest))]
[JsonSerializable(typeof(EventDto))]
[JsonSerializable(typeof(Page<EventDto>))]
[JsonSerializable(typeof(TokenDto[]))]
[JsonSerializable(typeof(CreatedTokenDto))]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(WhoAmIDto))]
[JsonSerializable(typeof(ActorDto[]))]
[JsonSerializable(typeof(StreamTicketDto))]
// Never bodies, but the OpenAPI document builds its schemas of query parameters and of the event stream from contracts
// too: without reflection (Native AOT) /openapi/v1.json fails without these.
[JsonSerializable(typeof(SseItem<EventDto>))]
[JsonSerializable(typeof(int?))]
[JsonSerializable(typeof(long?))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(Guid))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
