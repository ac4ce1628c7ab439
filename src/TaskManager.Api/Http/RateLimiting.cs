using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using TaskManager.Api.Auth;

namespace TaskManager.Api.Http;

/// <summary>
/// What one client may take from everyone else (section <c>Limits</c>); checked on start by
/// <see cref="RateLimiting.AddRateLimits"/>. The defaults leave a team's boards and agents far below every limit and
/// throttle a loop that calls as fast as it can.
/// </summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>False turns every limit off (the benchmark measures the api without them).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Requests a token may make per second, sustained. A person's board makes a few a minute and an agent a few
    /// a second; a runaway loop makes hundreds.
    /// </summary>
    public int RequestsPerSecond { get; set; } = 50;

    /// <summary>Requests a token may make at once before the sustained rate applies (a board opening, a batch of writes).</summary>
    public int RequestBurst { get; set; } = 200;

    /// <summary>
    /// Requests served at once by this replica, streams aside. Below the connection pool (Npgsql's Max Pool Size,
    /// 100 by default, like PostgreSQL's max_connections), which also serves streams opening, token checks, health
    /// probes and the event listener: requests wait here rather than for a connection.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 64;

    /// <summary>Requests that may wait for one of <see cref="MaxConcurrentRequests"/>; past that, 503.</summary>
    public int RequestQueue { get; set; } = 256;

    /// <summary>Live event streams one token may hold open at once (a person with a few tabs, an agent with one stream).</summary>
    public int StreamsPerToken { get; set; } = 10;

    /// <summary>Live event streams this replica holds open at once, for all tokens.</summary>
    public int MaxStreams { get; set; } = 500;

    /// <summary>
    /// The most events a stream replays when it resumes (<c>Last-Event-ID</c>, <c>lastEventId</c>; 0 replays all);
    /// a client further behind is told to start afresh (<c>410</c>).
    /// </summary>
    public int MaxReplayEvents { get; set; } = 10_000;
}

/// <summary>Marks an endpoint whose response stays open (the event stream): it counts against the stream caps, not the request concurrency.</summary>
public sealed class LiveStreamMetadata
{
    public static readonly LiveStreamMetadata Instance = new();

    private LiveStreamMetadata()
    {
    }
}

/// <summary>
/// ASP.NET Core's rate limiter, after authentication so that limits are per token: a token bucket of requests per
/// token (429), live streams per token (429) and in all (503), and requests at once (503, with a short queue). Health
/// probes and anything else anonymous are never limited, so <c>/alive</c> and <c>/health</c> answer under overload.
/// </summary>
public static class RateLimiting
{
    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.SectionName)
            // Checked in code rather than with data annotations, whose validator reflects over the options (not AOT-safe).
            .Validate(o => o.RequestsPerSecond > 0 && o.RequestBurst > 0, "Limits:RequestsPerSecond and Limits:RequestBurst must be positive.")
            .Validate(o => o.MaxConcurrentRequests > 0 && o.RequestQueue >= 0,
                "Limits:MaxConcurrentRequests must be positive and Limits:RequestQueue not negative.")
            .Validate(o => o.StreamsPerToken > 0 && o.MaxStreams >= o.StreamsPerToken,
                "Limits:StreamsPerToken must be positive and at most Limits:MaxStreams.")
            .Validate(o => o.MaxReplayEvents > 0, "Limits:MaxReplayEvents must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<RequestLimits>();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<RequestLimits>((options, limits) =>
        {
            options.GlobalLimiter = limits.Limiter;
            options.OnRejected = limits.RejectAsync;
        });
        return builder;
    }

    /// <summary>After authentication and authorization: requests are limited by the token that sent them, refused ones cost nothing more.</summary>
    public static WebApplication UseRateLimits(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<LimitsOptions>>().Value.Enabled)
        {
            app.UseRateLimiter();
        }
        return app;
    }

    /// <summary>Counts the endpoint's requests as live streams (<see cref="LiveStreamMetadata"/>).</summary>
    public static TBuilder LimitedAsLiveStream<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(LiveStreamMetadata.Instance);
}

/// <summary>The limiters of <see cref="RateLimiting"/>, chained in one, and the problem each refusal answers with.</summary>
public sealed class RequestLimits : IDisposable
{
    private static readonly TimeSpan RetryBusyAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RetryStreamsAfter = TimeSpan.FromSeconds(10);

    private readonly LimitsOptions _options;
    private readonly PartitionedRateLimiter<HttpContext> _streamsPerToken;
    private readonly PartitionedRateLimiter<HttpContext>[] _limiters;

    public RequestLimits(IOptions<LimitsOptions> options)
    {
        _options = options.Value;
        var o = _options;
        var requestsPerToken = PartitionedRateLimiter.Create<HttpContext, string>(http => TokenOf(http) is { } token
            ? RateLimitPartition.GetTokenBucketLimiter(token, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = o.RequestBurst,
                TokensPerPeriod = o.RequestsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
            })
            : RateLimitPartition.GetNoLimiter(""));
        _streamsPerToken = PartitionedRateLimiter.Create<HttpContext, string>(http => IsLiveStream(http) && TokenOf(http) is { } token
            ? RateLimitPartition.GetConcurrencyLimiter(token, _ => new ConcurrencyLimiterOptions { PermitLimit = o.StreamsPerToken, QueueLimit = 0 })
            : RateLimitPartition.GetNoLimiter(""));
        var streams = PartitionedRateLimiter.Create<HttpContext, string>(http => IsLiveStream(http) && TokenOf(http) is not null
            ? RateLimitPartition.GetConcurrencyLimiter("streams", _ => new ConcurrencyLimiterOptions { PermitLimit = o.MaxStreams, QueueLimit = 0 })
            : RateLimitPartition.GetNoLimiter(""));
        var requests = PartitionedRateLimiter.Create<HttpContext, string>(http => !IsLiveStream(http) && TokenOf(http) is not null
            ? RateLimitPartition.GetConcurrencyLimiter("requests", _ => new ConcurrencyLimiterOptions
            {
                PermitLimit = o.MaxConcurrentRequests,
                QueueLimit = o.RequestQueue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            })
            : RateLimitPartition.GetNoLimiter(""));
        // In this order: the first that refuses ends the chain, so a token over its own limits never takes a shared permit.
        _limiters = [requestsPerToken, _streamsPerToken, streams, requests];
        Limiter = PartitionedRateLimiter.CreateChained(_limiters);
    }

    public PartitionedRateLimiter<HttpContext> Limiter { get; }

    /// <summary>
    /// 429 when the token is over its own limits (a token bucket's refusal says when it refills), 503 when the
    /// replica is: the client learns whether slowing down helps, or trying again (perhaps on another replica).
    /// </summary>
    public async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken ct)
    {
        var http = rejected.HttpContext;
        var (status, title, retryAfter, detail) = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var refill)
            ? (StatusCodes.Status429TooManyRequests, "Too many requests", refill,
                $"This token has sent more than its {_options.RequestsPerSecond} requests a second (bursts of {_options.RequestBurst}): " +
                "slow down and retry after the Retry-After seconds.")
            : !IsLiveStream(http)
                ? (StatusCodes.Status503ServiceUnavailable, "Busy", RetryBusyAfter,
                    $"The api is serving its limit of {_options.MaxConcurrentRequests} requests at once with {_options.RequestQueue} waiting: " +
                    "retry after the Retry-After seconds.")
                : _streamsPerToken.GetStatistics(http)?.CurrentAvailablePermits == 0
                    ? (StatusCodes.Status429TooManyRequests, "Too many streams", RetryStreamsAfter,
                        $"This token already has {_options.StreamsPerToken} live streams open, the most it may: close one " +
                        "(one stream without ?project= carries every project) and retry.")
                    : (StatusCodes.Status503ServiceUnavailable, "Too many streams", RetryStreamsAfter,
                        $"The api has its limit of {_options.MaxStreams} live streams open: retry after the Retry-After seconds.");
        http.Response.StatusCode = status;
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    /// <summary>The token a request was authenticated with (its hash, in hex), or null for anonymous requests such as health probes.</summary>
    private static string? TokenOf(HttpContext http) =>
        http.Features.Get<CallerFeature>()?.Caller.TokenHash is { } hash ? Convert.ToHexString(hash) : null;

    private static bool IsLiveStream(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<LiveStreamMetadata>() is not null;

    public void Dispose()
    {
        // The chain does not dispose what it chains.
        Limiter.Dispose();
        foreach (var limiter in _limiters)
        {
            limiter.Dispose();
        }
    }
}
