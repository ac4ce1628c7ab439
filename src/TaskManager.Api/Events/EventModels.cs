using System.Text.Json;

namespace TaskManager.Api.Events;

/// <summary>
/// One change, as history shows it and as the live stream sends it. <see cref="Data"/> depends on <see cref="Kind"/>:
/// <c>changes</c> holds <c>field: { old, new }</c> for updates; creates carry the new values.
/// </summary>
public sealed record EventDto(
    long Id, DateTimeOffset At, string Actor, string Kind, Guid ProjectId, string ProjectKey,
    Guid? TaskId, string? TaskRef, JsonElement Data);

/// <summary>Opens <c>GET /api/events?ticket=…</c> once, until <see cref="ExpiresAt"/>.</summary>
public sealed record StreamTicketDto(string Ticket, DateTimeOffset ExpiresAt);
