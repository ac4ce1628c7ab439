using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using TaskManager.Mcp.ApiClient;

namespace TaskManager.Mcp.Auth;

/// <summary>
/// Accepts a bearer token when the api does (<c>GET /api/me</c>); the mcp server keeps no credentials of its own.
/// Answers are cached briefly per token hash (a bounded cache), so a busy agent does not double every call; the api
/// still checks every forwarded call, so a token revoked meanwhile cannot change anything.
/// </summary>
public sealed class ApiTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TaskApiClient api,
    ApiTokenHandler.TokenCache tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiToken";

    /// <summary>One claim per scope of the token, as the api names them (<c>read</c>, <c>write</c>).</summary>
    public const string ScopeClaim = "scope";
    private const string ApiUnavailableItem = "auth:api-unavailable";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
        {
            return AuthenticateResult.NoResult();
        }
        var token = header[7..].Trim();
        var key = "token:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        var cache = tokens.Cache;
        if (!cache.TryGetValue(key, out WhoAmI? who) || who is null)
        {
            try
            {
                who = await api.WhoAmIAsync(token, Context.RequestAborted);
                cache.Set(key, who, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = CacheFor, Size = 1 });
            }
            catch (ApiProblemException e) when (e.Status is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                cache.Remove(key);
                return AuthenticateResult.Fail("The bearer token is unknown, revoked or expired.");
            }
            catch (Exception e) when (e is ApiProblemException or HttpRequestException or TimeoutException or System.Text.Json.JsonException
                                      or Polly.ExecutionRejectedException
                                      or TaskCanceledException { CancellationToken.IsCancellationRequested: false })
            {
                // The token may well be good: say the service is unavailable rather than calling it invalid.
                Context.Items[ApiUnavailableItem] = true;
                Logger.LogWarning(e, "Could not check a token with the api");
                return AuthenticateResult.Fail("The api could not be reached to check the token.");
            }
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, who.Name) };
        claims.AddRange(who.Scopes.Select(s => new Claim(ScopeClaim, s)));
        return AuthenticateResult.Success(new AuthenticationTicket(
            new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(ApiUnavailableItem))
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Response.Headers.RetryAfter = "5";
            return Task.CompletedTask;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    /// <summary>The handler's own bounded cache (one entry per recently seen token), apart from any shared cache.</summary>
    public sealed class TokenCache : IDisposable
    {
        public MemoryCache Cache { get; } = new(new MemoryCacheOptions { SizeLimit = 10_000 });

        public void Dispose() => Cache.Dispose();
    }
}
