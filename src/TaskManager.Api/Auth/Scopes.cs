using System.Security.Claims;

namespace TaskManager.Api.Auth;

/// <summary>Token scopes. Each implies those before it: admin can write, write can read.</summary>
public static class Scopes
{
    public const string Read = "read";
    public const string Write = "write";
    public const string Admin = "admin";
    public const string ClaimType = "scope";

    public static readonly string[] All = [Read, Write, Admin];

    public static IEnumerable<string> Implied(IEnumerable<string> granted)
    {
        var rank = granted.Select(s => Array.IndexOf(All, s)).DefaultIfEmpty(-1).Max();
        return All.Take(rank + 1);
    }

    public static string Actor(this ClaimsPrincipal user) =>
        user.Identity?.Name ?? throw new InvalidOperationException("An authenticated request has no actor name.");
}
