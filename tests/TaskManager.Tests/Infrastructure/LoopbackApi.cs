extern alias api;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// The api in process on a real loopback port, on the test run's Postgres: for browsers (which cannot reach a
/// TestServer; it serves the board at <c>/</c> from the api project's wwwroot) and for tests that need real sockets.
/// <paramref name="configure"/> adds settings after the defaults.
/// </summary>
public sealed class LoopbackApi : WebApplicationFactory<api::Program>
{
    private readonly string _connectionString;
    private readonly string _adminToken;
    private readonly Action<IWebHostBuilder>? _configure;

    public LoopbackApi(string connectionString, string adminToken, Action<IWebHostBuilder>? configure = null)
    {
        _connectionString = connectionString;
        _adminToken = adminToken;
        _configure = configure;
        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        Address = new Uri(addresses.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no address."));
        Services.GetRequiredService<api::TaskManager.Api.Database.StartupState>().WhenReady
            .WaitAsync(AppFixture.StartTimeout).GetAwaiter().GetResult();
    }

    /// <summary>Where the board is served, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseUrls("http://127.0.0.1:0");
        builder.UseSetting("ConnectionStrings:tasks", _connectionString);
        builder.UseSetting("Auth:AdminToken", _adminToken);
        builder.UseEnvironment("Development");
        _configure?.Invoke(builder);
    }

    /// <summary>A client of this server signed in with <paramref name="token"/> (the admin token when null).</summary>
    public HttpClient CreateApiClient(string? token = null) =>
        AppFixture.Authorize(new HttpClient { BaseAddress = Address }, token ?? _adminToken);
}
