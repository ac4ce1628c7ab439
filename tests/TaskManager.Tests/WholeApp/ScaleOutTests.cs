using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using TaskManager.Tests.Api;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>The AppHost with two api replicas (Api:Replicas=2), each reached at its own address.</summary>
public sealed class ScaleOutTests(AppFixture app)
{
    [Fact]
    public async Task Two_replicas_share_changes_live_and_give_concurrent_claims_distinct_tasks()
    {
        await using var scaled = await app.StartAppHostAsync("--Postgres:Mode=local", "--Postgres:Ephemeral=true", "--Api:Replicas=2");
        var (one, two) = await ReplicaAddressesAsync(scaled);
        using var first = AppFixture.Authorize(new HttpClient { BaseAddress = one }, app.AdminToken);
        using var second = AppFixture.Authorize(new HttpClient { BaseAddress = two }, app.AdminToken);

        var key = (await first.CreateProjectAsync()).GetProperty("key").GetString()!;
        await using var stream = await EventStream.OpenAsync(second, $"/api/events?project={key}");
        await first.CreateTaskAsync(key, "Made on the first replica");

        var seen = await stream.NextAsync();
        Assert.Equal("task.created", seen.EventType);
        Assert.Equal("Made on the first replica", seen.Data.GetProperty("data").GetProperty("title").GetString());

        for (var i = 2; i <= 10; i++)
        {
            await (i % 2 == 0 ? second : first).CreateTaskAsync(key, $"Ready {i}");
        }
        var claims = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            var response = await ClaimAsync(i % 2 == 0 ? first : second, key, $"agent-{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.ReadJsonAsync()).GetProperty("ref").GetString();
        })).Timeout();
        Assert.Equal(10, claims.Distinct().Count());
    }

    /// <summary>
    /// Claims as an agent does: ten claims queue for one column, and on a loaded machine the last ones can wait past the
    /// api's lock timeout and get 503 "Busy" with Retry-After, which a client retries (with a key, so it is safe).
    /// </summary>
    private static async Task<HttpResponseMessage> ClaimAsync(HttpClient client, string project, string assignee)
    {
        var key = Guid.NewGuid().ToString();
        for (var attempt = 1; ; attempt++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks/claim") { Content = JsonContent.Create(new { project, assignee }) };
            request.Headers.Add("Idempotency-Key", key);
            var response = await client.SendAsync(request, TestHelpers.Ct);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 5)
            {
                return response;
            }
            await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), TestHelpers.Ct);
        }
    }

    /// <summary>Each replica's own address (ASPNETCORE_URLS of each instance), not the proxy in front of them.</summary>
    private static async Task<(Uri, Uri)> ReplicaAddressesAsync(DistributedApplication scaled)
    {
        var addresses = new Dictionary<string, Uri>();
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(TestHelpers.Ct);
        watch.CancelAfter(TestHelpers.DefaultTimeout);
        await foreach (var update in scaled.ResourceNotifications.WatchAsync(watch.Token))
        {
            if (update.Resource.Name == "api"
                && update.Snapshot.EnvironmentVariables.FirstOrDefault(v => v.Name == "ASPNETCORE_URLS")?.Value is { } urls)
            {
                addresses[update.ResourceId] = new Uri(urls.Split(';', ',')[0]);
                if (addresses.Count == 2)
                {
                    break;
                }
            }
        }
        Assert.Equal(2, addresses.Values.Distinct().Count());
        // The AppHost reports the api healthy when one replica is; on a loaded machine the other may still be starting.
        foreach (var address in addresses.Values)
        {
            await ReadyAsync(address);
        }
        return (addresses.Values.First(), addresses.Values.Last());
    }

    private static async Task ReadyAsync(Uri replica)
    {
        using var http = new HttpClient { BaseAddress = replica, Timeout = TimeSpan.FromSeconds(5) };
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync("/health", TestHelpers.Ct)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && DateTime.UtcNow < until)
            {
                // Not listening yet.
            }
            Assert.True(DateTime.UtcNow < until, $"Replica {replica} was not ready within 60 s.");
            await Task.Delay(250, TestHelpers.Ct);
        }
    }
}
