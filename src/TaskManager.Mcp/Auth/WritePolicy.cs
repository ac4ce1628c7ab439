using Microsoft.AspNetCore.Authorization;

namespace TaskManager.Mcp.Auth;

/// <summary>
/// The authorization policy of everything that changes the board: the caller's api token has the <c>write</c> scope.
/// Tools that write carry <c>[Authorize(Policy = WritePolicy.Name)]</c>; the SDK's authorization filters hide them from,
/// and refuse them to, a token without it. (The api checks every forwarded call again: this is what the agent sees.)
/// </summary>
public static class WritePolicy
{
    public const string Name = "write";

    public static void Add(AuthorizationOptions options) =>
        options.AddPolicy(Name, policy => policy.RequireClaim(ApiTokenHandler.ScopeClaim, "write"));
}
