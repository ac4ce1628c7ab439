extern alias api;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// The api in process (TestServer) on the test run's Postgres. Like a deployment's readiness probe, it is handed out
/// once its schema is migrated, unless <paramref name="waitForDatabase"/> is false. <paramref name="configure"/> adds
/// settings after the defaults.
/// </summary>
public sealed class ApiFactory(
    string connectionString, string adminToken, string environment = "Development", bool waitForDatabase = true,
    Action<IWebHostBuilder>? configure = null)
    : WebApplicationFactory<api::Program>
{
    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        if (waitForDatabase)
        {
            host.Services.GetRequiredService<api::TaskManager.Api.Database.StartupState>().WhenReady
                .WaitAsync(AppFixture.StartTimeout).GetAwaiter().GetResult();
        }
        return host;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:tasks", connectionString);
        builder.UseSetting("Auth:AdminToken", adminToken);
        // Idle streams re-check their token this often; short, so that tests see a revoked token end its stream.
        builder.UseSetting("Events:KeepAlive", "00:00:01");
        // Every test class shares one api and its admin token, far busier than any client: the limits have tests of their own.
        builder.UseSetting("Limits:Enabled", "false");
        builder.UseEnvironment(environment);
        configure?.Invoke(builder);
    }

    /// <summary>A client signed in with <paramref name="token"/>: the admin token by default, none when empty.</summary>
    public HttpClient CreateClient(string? token) => AppFixture.Authorize(CreateClient(), token);

    public HttpClient CreateAdminClient() => CreateClient(adminToken);
}
