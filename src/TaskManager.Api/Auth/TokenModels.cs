using System.ComponentModel.DataAnnotations;

namespace TaskManager.Api.Auth;

/// <summary>A token as stored, without its hash.</summary>
public sealed record TokenRow(
    Guid Id, string Name, string[] Scopes, ActorKind Kind, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt, DateTimeOffset CreatedAt, string CreatedBy);

public sealed record TokenDto(
    Guid Id, string Name, string[] Scopes, ActorKind Kind, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt, DateTimeOffset CreatedAt, string CreatedBy)
{
    public static TokenDto From(TokenRow row) => new(
        row.Id, row.Name, row.Scopes, row.Kind, row.ExpiresAt, row.LastUsedAt, row.RevokedAt, row.CreatedAt, row.CreatedBy);
}

/// <summary>The only response that ever contains a token's secret value.</summary>
public sealed record CreatedTokenDto(TokenDto Token, string Secret);

/// <summary>A new token; <see cref="Kind"/> says whether its holder is a person or an agent (default: agent).</summary>
public sealed record CreateTokenRequest([property: Required] string? Name, [property: Required] string[]? Scopes, DateTimeOffset? ExpiresAt, ActorKind? Kind);

public sealed record WhoAmIDto(string Name, string[] Scopes, ActorKind Kind);

/// <summary>A name that changes are recorded under, and whether it is a person or an agent.</summary>
public sealed record ActorDto(string Name, ActorKind Kind);
