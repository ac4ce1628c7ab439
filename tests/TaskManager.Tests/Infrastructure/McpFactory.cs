extern alias mcp;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// The mcp server in process, calling the AppHost's real api; for settings the AppHost does not vary.
/// <paramref name="services"/> adds services after the server's own (an in-memory trace exporter, say).
/// </summary>
public sealed class McpFactory(Uri apiAddress, IReadOnlyDictionary<string, string> settings, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<mcp::Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("TaskApi:BaseAddress", apiAddress.ToString());
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
        if (services is not null)
        {
            builder.ConfigureServices(services);
        }
    }

    public async Task<McpClient> ConnectAsync(string token)
    {
        var http = CreateClient();
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}" },
        }, http, ownsHttpClient: true);
        return await McpClient.CreateAsync(transport, cancellationToken: TestHelpers.Ct).Timeout();
    }
}
