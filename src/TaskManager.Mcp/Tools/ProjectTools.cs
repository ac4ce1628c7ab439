using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Auth;

namespace TaskManager.Mcp.Tools;

/// <summary>A compact project row for lists.</summary>
public sealed record ProjectSummary(string Key, string Title, bool Pinned, bool Archived, int Version)
{
    public static ProjectSummary From(ProjectDto p) => new(p.Key, p.Title, p.Pinned, p.ArchivedAt is not null, p.Version);
}

public sealed record ProjectList(ProjectSummary[] Projects, string? NextCursor);

[JsonConverter(typeof(WireEnumConverter<ManageProjectAction>))]
public enum ManageProjectAction { Create, Update, Archive, Restore }

[McpServerToolType]
public sealed class ProjectTools(TaskApiClient api)
{
    [McpServerTool(Name = "find_projects", Title = "Find projects", UseStructuredContent = true, ReadOnly = true, Idempotent = true),
     Description("Lists projects (key such as WEB, title), pinned first; query searches key, title and description.")]
    public async Task<ProjectList> FindProjects(
        [Description("Words to search for.")] string? query = null,
        [Description("Include archived projects.")] bool? includeArchived = null,
        [Description("Page size, 1 to 200 (default 50).")] int? limit = null,
        [Description("nextCursor from the previous call.")] string? cursor = null,
        CancellationToken ct = default)
    {
        var q = new ApiQuery()
            .With("q", ToolInput.Optional(query, "query"))
            .With("includeArchived", includeArchived)
            .With("limit", limit)
            .With("cursor", ToolInput.Optional(cursor, "cursor"));
        var page = await ApiCalls.Run(() => api.FindProjectsAsync(q, ct));
        return new ProjectList([.. page.Items.Select(ProjectSummary.From)], page.NextCursor);
    }

    [McpServerTool(Name = "manage_project", Title = "Create, update, archive or restore a project", Destructive = false),
     Authorize(Policy = WritePolicy.Name),
     Description("action=create: needs key (2-10 upper-case letters, e.g. WEB) and title. action=update: changes the " +
                 "fields you pass (title, description, pinned, doneByPeopleOnly, agentLeaseSeconds; the key is fixed). action=archive / restore. " +
                 "Pass expectedVersion to refuse the change if the project changed since you read it.")]
    public async Task<ProjectDto> ManageProject(
        [Description("What to do.")] ManageProjectAction action,
        [Description("The project (key or id). Required except for create.")] string? project = null,
        [Description("create: the new project's key, 2-10 upper-case letters.")] string? key = null,
        [Description("Title, 1 to 200 characters.")] string? title = null,
        [Description("Markdown description.")] string? description = null,
        [Description("Pinned projects are listed first.")] bool? pinned = null,
        [Description("Done policy: true lets only people move tasks to done (agents stop at review). Only a person may set it.")] bool? doneByPeopleOnly = null,
        [Description("Seconds an agent's claim lasts without a write or heartbeat (0: no expiry).")] int? agentLeaseSeconds = null,
        [Description("The version you last saw.")] int? expectedVersion = null,
        [Description(ToolInput.RequestIdDescription)] string? requestId = null,
        CancellationToken ct = default)
    {
        var verb = action.Wire();
        var edits = action is ManageProjectAction.Create or ManageProjectAction.Update;
        ToolInput.OnlyFor(verb,
            ("project", project, action != ManageProjectAction.Create), ("key", key, action == ManageProjectAction.Create), ("title", title, edits),
            ("description", description, edits), ("pinned", pinned, edits), ("doneByPeopleOnly", doneByPeopleOnly, edits),
            ("agentLeaseSeconds", agentLeaseSeconds, edits),
            ("expectedVersion", expectedVersion, action != ManageProjectAction.Create));
        var id = ToolInput.RequestId(requestId);
        var body = new JsonObject();
        if (title is not null)
        {
            body["title"] = title;
        }
        if (description is not null)
        {
            body["description"] = description;
        }
        if (pinned is not null)
        {
            body["pinned"] = pinned.Value;
        }
        if (agentLeaseSeconds is not null)
        {
            body["agentLeaseSeconds"] = agentLeaseSeconds.Value;
        }
        if (doneByPeopleOnly is not null)
        {
            body["doneByPeopleOnly"] = doneByPeopleOnly.Value;
        }
        switch (action)
        {
            case ManageProjectAction.Create:
                if (string.IsNullOrWhiteSpace(key) || string.IsNullOrWhiteSpace(title))
                {
                    throw new McpException("create needs key (e.g. WEB) and title.");
                }
                body["key"] = key;
                return await ApiCalls.Write("manage_project", id, () => api.CreateProjectAsync(body, id, ct));
            case ManageProjectAction.Update:
                if (body.Count == 0)
                {
                    throw new McpException("update needs at least one of title, description, pinned, doneByPeopleOnly, agentLeaseSeconds.");
                }
                return await ApiCalls.Write("manage_project", id, () => api.UpdateProjectAsync(ToolInput.Project(project, "project", verb), body, expectedVersion, id, ct));
            case ManageProjectAction.Archive:
            case ManageProjectAction.Restore:
                return await ApiCalls.Write("manage_project", id, () =>
                    api.ArchiveProjectAsync(ToolInput.Project(project, "project", verb), action == ManageProjectAction.Archive, expectedVersion, id, ct));
            default:
                throw new System.Diagnostics.UnreachableException($"manage_project action {action}");
        }
    }

}
