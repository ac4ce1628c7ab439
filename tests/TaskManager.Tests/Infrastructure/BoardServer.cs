extern alias api;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// The api in process on a real loopback port (a browser cannot reach a TestServer), on the test run's Postgres.
/// It serves the board at <c>/</c> from the api project's wwwroot.
/// </summary>
public sealed class BoardServer : WebApplicationFactory<api::Program>
{
    private readonly string _connectionString;
    private readonly string _adminToken;

    public BoardServer(string connectionString, string adminToken)
    {
        _connectionString = connectionString;
        _adminToken = adminToken;
        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        Address = new Uri(addresses.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no address."));
    }

    /// <summary>Where the board is served, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseUrls("http://127.0.0.1:0");
        builder.UseSetting("ConnectionStrings:tasks", _connectionString);
        builder.UseSetting("Auth:AdminToken", _adminToken);
        builder.UseEnvironment("Development");
    }

    /// <summary>A client of this server signed in with <paramref name="token"/> (the admin token when null).</summary>
    public HttpClient CreateApiClient(string? token = null) =>
        AppFixture.Authorize(new HttpClient { BaseAddress = Address }, token ?? _adminToken);
}
