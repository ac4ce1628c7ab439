using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Mvc;
using TaskManager.Api.Http;

namespace TaskManager.Api.Projects;

/// <summary>A project as stored.</summary>
public sealed record ProjectRow(
    Guid Id, string Key, string Title, string Description, bool Pinned,
    DateTimeOffset? ArchivedAt, string? ArchivedBy,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt, string UpdatedBy, int Version, bool DoneByPeopleOnly,
    int AgentLeaseSeconds);

/// <summary>
/// A project on the wire. <see cref="DoneByPeopleOnly"/>: its done policy; agents may take work as far as review and only
/// a person moves it to done. <see cref="AgentLeaseSeconds"/>: how long an agent's claim lasts without a write or a
/// heartbeat (0: it does not expire); a person's claim has no expiry unless the claim asks for one.
/// </summary>
public sealed record ProjectDto(
    Guid Id, string Key, string Title, string Description, bool Pinned,
    DateTimeOffset? ArchivedAt, string? ArchivedBy,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt, string UpdatedBy, int Version, bool DoneByPeopleOnly,
    int AgentLeaseSeconds)
{
    public static ProjectDto From(ProjectRow row) => new(
        row.Id, row.Key, row.Title, row.Description, row.Pinned, row.ArchivedAt, row.ArchivedBy,
        row.CreatedAt, row.CreatedBy, row.UpdatedAt, row.UpdatedBy, row.Version, row.DoneByPeopleOnly, row.AgentLeaseSeconds);
}

public sealed record CreateProjectRequest(
    [property: Required] string? Key, [property: Required] string? Title, string? Description, bool? Pinned, bool? DoneByPeopleOnly,
    int? AgentLeaseSeconds);

/// <summary>A partial update: only the fields present change. The key is fixed once created (it is in every task ref).</summary>
public sealed record UpdateProjectRequest(
    Optional<string?> Key, Optional<string?> Title, Optional<string?> Description, Optional<bool?> Pinned, Optional<bool?> DoneByPeopleOnly,
    Optional<int?> AgentLeaseSeconds);

/// <summary>The validated new values of a project.</summary>
public sealed record ProjectChanges(string Title, string Description, bool Pinned, bool DoneByPeopleOnly, int AgentLeaseSeconds);

/// <summary>The query of the project list: full-text search, archived ones too, page size and the previous page's nextCursor.</summary>
public sealed record ListProjectsQuery
{
    [FromQuery(Name = "q")] public string? Q { get; init; }

    [FromQuery(Name = "includeArchived")] public bool? IncludeArchived { get; init; }

    [FromQuery(Name = "limit")] public int? Limit { get; init; }

    [FromQuery(Name = "cursor")] public string? Cursor { get; init; }
}

/// <summary>One page of a keyset-paged list; pass <see cref="NextCursor"/> back as <c>cursor</c> for the next.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
