extern alias api;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace TaskManager.Tests.Infrastructure;

/// <summary>The api in process (TestServer) on the test run's Postgres.</summary>
public sealed class ApiFactory(string connectionString, string adminToken, string environment = "Development") : WebApplicationFactory<api::Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:tasks", connectionString);
        builder.UseSetting("Auth:AdminToken", adminToken);
        // Idle streams re-check their token this often; short, so that tests see a revoked token end its stream.
        builder.UseSetting("Events:KeepAlive", "00:00:01");
        builder.UseEnvironment(environment);
    }

    /// <summary>A client signed in with <paramref name="token"/>: the admin token by default, none when empty.</summary>
    public HttpClient CreateClient(string? token) => AppFixture.Authorize(CreateClient(), token);

    public HttpClient CreateAdminClient() => CreateClient(adminToken);
}
