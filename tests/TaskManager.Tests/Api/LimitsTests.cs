extern alias api;

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// Overload (issue 9): each test runs an api of its own with small limits, so that no other test's traffic counts
/// and none of these limits reaches another test.
/// </summary>
public sealed class LimitsTests(AppFixture app)
{
    [Fact]
    public async Task A_token_over_its_rate_gets_429_with_Retry_After_while_another_token_is_unaffected()
    {
        await using var api = Api(("Limits:RequestsPerSecond", "1"), ("Limits:RequestBurst", "5"));
        var runaway = api.CreateClient(await TokenAsync(api, "runaway-agent"));
        var calm = api.CreateClient(await TokenAsync(api, "calm-agent"));

        var refused = await UntilRefusedAsync(runaway);

        await refused.AssertProblemAsync(429);
        Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Contains("1 requests a second", (await refused.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await calm.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);
    }

    [Fact]
    public async Task Health_probes_answer_while_a_token_is_throttled()
    {
        await using var api = Api(("Limits:RequestsPerSecond", "1"), ("Limits:RequestBurst", "5"));
        var admin = api.CreateAdminClient();
        var anonymous = api.CreateClient(token: null);

        await (await UntilRefusedAsync(admin)).AssertProblemAsync(429);

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/alive", TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health", TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await admin.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);
    }

    [Fact]
    public async Task Past_the_concurrency_limit_requests_get_503_with_Retry_After_and_health_probes_still_answer()
    {
        await using var api = Api(("Limits:MaxConcurrentRequests", "1"), ("Limits:RequestQueue", "0"), ("Limits:RequestBurst", "1000"));
        var admin = api.CreateAdminClient();
        var anonymous = api.CreateClient(token: null);

        var flood = Enumerable.Range(0, 50).Select(_ => admin.GetAsync("/api/projects", TestHelpers.Ct)).ToArray();
        var health = await anonymous.GetAsync("/health", TestHelpers.Ct).Timeout();
        var responses = await Task.WhenAll(flood).Timeout();

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        var busy = responses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(busy);
        await busy.AssertProblemAsync(503);
        Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_token_at_its_stream_cap_is_refused_another_stream_with_429_until_it_closes_one()
    {
        await using var api = Api(("Limits:StreamsPerToken", "2"));
        var board = api.CreateClient(await TokenAsync(api, "many-tabs"));
        var other = api.CreateClient(await TokenAsync(api, "one-tab"));
        var first = await EventStream.OpenAsync(board, "/api/events");
        await using var second = await EventStream.OpenAsync(board, "/api/events");

        var refused = await OpenAsync(board);
        await using var others = await EventStream.OpenAsync(other, "/api/events");
        await first.DisposeAsync();

        await refused.AssertProblemAsync(429);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Contains("2 live streams", (await refused.ReadJsonAsync()).GetProperty("detail").GetString());
        // The server lets go of a closed stream once it notices the client left.
        using var third = await EventuallyOpensAsync(board);
    }

    [Fact]
    public async Task Past_the_total_stream_cap_a_stream_is_refused_with_503()
    {
        await using var api = Api(("Limits:StreamsPerToken", "1"), ("Limits:MaxStreams", "2"));
        await using var first = await EventStream.OpenAsync(api.CreateClient(await TokenAsync(api, "first")), "/api/events");
        await using var second = await EventStream.OpenAsync(api.CreateClient(await TokenAsync(api, "second")), "/api/events");

        var refused = await OpenAsync(api.CreateClient(await TokenAsync(api, "third")));

        await refused.AssertProblemAsync(503);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task A_resume_further_back_than_the_replay_bound_is_told_to_start_afresh()
    {
        await using var api = Api(("Limits:MaxReplayEvents", "3"));
        var admin = api.CreateAdminClient();
        var key = (await admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        foreach (var title in new[] { "One", "Two", "Three", "Four", "Five" })
        {
            await admin.CreateTaskAsync(key, title);
        }
        var history = await HistoryIdsAsync(admin, key);

        // A transaction elsewhere in the cluster (another test's) may hold back the release of these events for a moment:
        // until it ends, a resume counts from the newest released event, which can be further back than the bound.
        (await EventuallyOpensAsync(admin, $"/api/events?project={key}", history[2])).Dispose();
        var tooFar = await OpenAsync(admin, $"/api/events?project={key}", lastEventId: history[0]);
        var fromTheStart = await OpenAsync(admin, $"/api/events?project={key}&lastEventId=0");
        await using var near = await EventStream.OpenAsync(admin, $"/api/events?project={key}", lastEventId: history[2]);

        await tooFar.AssertProblemAsync(410);
        Assert.Contains("Start afresh", (await tooFar.ReadJsonAsync()).GetProperty("detail").GetString());
        await fromTheStart.AssertProblemAsync(410);
        Assert.Equal("Three", (await near.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
        Assert.Equal("Four", (await near.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
        Assert.Equal("Five", (await near.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
    }

    [Fact]
    public async Task With_limits_turned_off_none_apply()
    {
        await using var api = Api(("Limits:Enabled", "false"), ("Limits:RequestsPerSecond", "1"), ("Limits:RequestBurst", "1"),
            ("Limits:StreamsPerToken", "1"), ("Limits:MaxStreams", "1"), ("Limits:MaxReplayEvents", "1"));
        var admin = api.CreateAdminClient();
        var key = (await admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await admin.CreateTaskAsync(key, "One");
        await admin.CreateTaskAsync(key, "Two");

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => admin.GetAsync("/api/me", TestHelpers.Ct))).Timeout();
        await using var first = await EventStream.OpenAsync(admin, $"/api/events?project={key}&lastEventId=0");
        await using var second = await EventStream.OpenAsync(admin, $"/api/events?project={key}&lastEventId=0");

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal("project.created", (await second.NextAsync()).EventType);
        Assert.Equal("One", (await second.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
        Assert.Equal("Two", (await second.NextAsync()).Data.GetProperty("data").GetProperty("title").GetString());
    }

    [Fact]
    public async Task Limits_that_contradict_each_other_stop_the_api_from_starting()
    {
        await using var api = Api(("Limits:StreamsPerToken", "20"), ("Limits:MaxStreams", "10"));

        var failure = Assert.ThrowsAny<Exception>(() => api.CreateClient());

        Assert.Contains("Limits:StreamsPerToken", failure.ToString());
    }

    [Fact]
    public async Task Bad_tokens_do_not_query_the_database_each_time()
    {
        await using var api = Api();
        var queries = new ConcurrentDictionary<ActivityTraceId, int>();
        using var listener = new ActivityListener
        {
            // Listening to the server's requests too makes it start an activity (the parent of its queries) for each.
            ShouldListenTo = source => source.Name is "Npgsql" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == "Npgsql")
                {
                    queries.AddOrUpdate(activity.TraceId, 1, (_, n) => n + 1);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var wellFormed = "tm_" + new string('A', 43);
        // Answers are cached only while the replica hears token changes (a revocation must reach it): wait for its listener.
        var notifications = api.Services.GetRequiredService<api::TaskManager.Api.Database.DatabaseNotifications>();
        var listening = Stopwatch.StartNew();
        while (!notifications.IsListening)
        {
            Assert.True(listening.Elapsed < TestHelpers.DefaultTimeout, "The api's listener did not connect.");
            await Task.Delay(50, TestHelpers.Ct);
        }

        var first = await TracedAsync(api, wellFormed);
        var again = await TracedAsync(api, wellFormed);
        var malformed = await TracedAsync(api, "not-a-token");

        Assert.True(queries.GetValueOrDefault(first) > 0, "The first look-up of an unknown token did not reach the database (nothing to compare with).");
        Assert.Equal(0, queries.GetValueOrDefault(again));
        Assert.Equal(0, queries.GetValueOrDefault(malformed));
    }

    [Fact]
    public async Task Bad_tokens_leave_nothing_in_the_log_at_information_or_above()
    {
        var logs = new CollectingLoggerProvider();
        await using var api = Api(configure: builder => builder.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        api.CreateClient();
        logs.Clear();

        for (var i = 0; i < 20; i++)
        {
            var response = await api.CreateClient($"tm_bad{i}").GetAsync("/api/me", TestHelpers.Ct).Timeout();
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Information && e.Category.Contains("Auth", StringComparison.Ordinal));
    }

    private ApiFactory Api(params (string Key, string Value)[] settings) => Api(settings, null);

    private ApiFactory Api((string Key, string Value)[] settings, Action<IWebHostBuilder>? configure) =>
        new(app.DatabaseConnectionString, app.AdminToken, configure: builder =>
        {
            builder.UseSetting("Limits:Enabled", "true");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
            configure?.Invoke(builder);
        });

    private ApiFactory Api(Action<IWebHostBuilder> configure) => Api([], configure);

    private static async Task<string> TokenAsync(ApiFactory api, string name)
    {
        var response = await api.CreateAdminClient().PostAsJsonAsync("/api/tokens", new { name, scopes = new[] { "write" } }, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
    }

    /// <summary>Calls as fast as it can (far faster than a token a second) until refused; the refusal.</summary>
    private static async Task<HttpResponseMessage> UntilRefusedAsync(HttpClient client)
    {
        for (var i = 0; i < 50; i++)
        {
            var response = await client.GetAsync("/api/me", TestHelpers.Ct).Timeout();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return response;
            }
        }
        Assert.Fail("50 requests in a row were all served.");
        return null!;
    }

    /// <summary>Opens a stream expected to be refused: the response, whose headers and body are the refusal.</summary>
    private static async Task<HttpResponseMessage> OpenAsync(HttpClient client, string url = "/api/events", long? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId.ToString());
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    /// <summary>Opens a stream, trying again while it is refused, for up to 10 s: the open stream's response.</summary>
    private static async Task<HttpResponseMessage> EventuallyOpensAsync(HttpClient client, string url = "/api/events", long? lastEventId = null)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (lastEventId is not null)
            {
                request.Headers.Add("Last-Event-ID", lastEventId.ToString());
            }
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return response;
            }
            response.Dispose();
            Assert.True(DateTime.UtcNow < until, $"{url} was still refused ({(int)response.StatusCode}) after 10 s.");
            await Task.Delay(100, TestHelpers.Ct).Timeout();
        }
    }

    private static async Task<long[]> HistoryIdsAsync(HttpClient client, string key)
    {
        var history = await client.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history", TestHelpers.Ct).Timeout();
        return [.. history.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetInt64())];
    }

    /// <summary>Calls GET /api/me with <paramref name="token"/> as a trace of its own: the trace id, to count its queries by.</summary>
    private static async Task<ActivityTraceId> TracedAsync(ApiFactory api, string token)
    {
        var trace = ActivityTraceId.CreateRandom();
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        var response = await api.CreateClient(token).SendAsync(request, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return trace;
    }

    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<(string Category, LogLevel Level, string Message)> _entries = new();

        public IEnumerable<(string Category, LogLevel Level, string Message)> Entries => _entries;

        public void Clear() => _entries.Clear();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
