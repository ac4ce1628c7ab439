using System.ComponentModel;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Tools;

namespace TaskManager.Mcp.Resources;

[McpServerResourceType]
public sealed class BoardResources(TaskApiClient api)
{
    private const int TasksPerColumn = 15;

    [McpServerResource(UriTemplate = "taskmanager://projects/{project}/board", Name = "project_board", Title = "Project board", MimeType = "text/markdown"),
     Description("A project's board in brief: each column with its first tasks (ref, title, priority, assignee, blocked).")]
    public async Task<string> ProjectBoard([Description("Project key, e.g. WEB.")] string project, CancellationToken ct)
    {
        var info = await Read(() => api.GetProjectAsync(ToolInput.Project(project, "project", "project_board"), ct));
        var board = new StringBuilder($"# {info.Key}: {info.Title}{(info.ArchivedAt is null ? "" : " (archived)")}\n");
        foreach (var column in Enum.GetValues<Status>().Select(s => s.Wire()))
        {
            var page = await Read(() => api.FindTasksAsync(
                new ApiQuery().With("project", info.Key).With("status", column).With("limit", TasksPerColumn), ct));
            board.Append($"\n## {column}\n");
            if (page.Items.Length == 0)
            {
                board.Append("(empty)\n");
            }
            foreach (var task in page.Items)
            {
                board.Append($"- {task.Ref} {task.Title} [{task.Priority}]");
                board.Append(task.Assignee is null ? "" : $" @{task.Assignee}");
                board.Append(task.BlockedBy.Length > 0 ? $" (blocked by {string.Join(", ", task.BlockedBy)})" : "");
                board.Append(task.Ready ? " (ready)" : "");
                board.Append('\n');
            }
            if (page.NextCursor is not null)
            {
                board.Append($"- … more: find_tasks project={info.Key} status={column}\n");
            }
        }
        return board.ToString();
    }

    [McpServerResource(UriTemplate = "taskmanager://tasks/{task}", Name = "task", Title = "Task", MimeType = "application/json"),
     Description("One task, in full, as JSON.")]
    public async Task<string> Task([Description("Task ref such as WEB-42, or id.")] string task, CancellationToken ct) =>
        JsonSerializer.Serialize(await Read(() => api.GetTaskAsync(ToolInput.Task(task, "task", "task"), ct)),
            (System.Text.Json.Serialization.Metadata.JsonTypeInfo<TaskDto>)McpServerExtensions.ToolJson.GetTypeInfo(typeof(TaskDto)));

    /// <summary>
    /// Resource errors are protocol errors, chosen by the api's status code (never by its wording): unknown things are
    /// "resource not found", bad refs (ours or the api's 400/422) "invalid params", anything else an internal error.
    /// </summary>
    private static async Task<T> Read<T>(Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (ApiProblemException e)
        {
            throw new McpProtocolException(ApiCalls.Explain(e), e.Status switch
            {
                System.Net.HttpStatusCode.NotFound => McpErrorCode.ResourceNotFound,
                System.Net.HttpStatusCode.BadRequest or System.Net.HttpStatusCode.UnprocessableEntity => McpErrorCode.InvalidParams,
                _ => McpErrorCode.InternalError,
            });
        }
        catch (InvalidToolInputException e)
        {
            throw new McpProtocolException(e.Message, McpErrorCode.InvalidParams);
        }
        catch (Exception e) when (ApiCalls.IsUnreachable(e))
        {
            throw new McpProtocolException(ApiCalls.Unreachable, McpErrorCode.InternalError);
        }
    }
}
