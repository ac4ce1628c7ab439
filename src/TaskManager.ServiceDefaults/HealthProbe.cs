namespace Microsoft.Extensions.Hosting;

/// <summary>
/// <c>--health-probe [url]</c>: the service checks a running copy of itself and exits 0 (healthy) or 1. Container
/// health checks use it because the chiseled images have no shell and no curl. Without a url it asks
/// <c>http://127.0.0.1:{first of ASPNETCORE_HTTP_PORTS or HTTP_PORTS, else 8080}/health</c>.
/// </summary>
public static class HealthProbe
{
    public const string Argument = "--health-probe";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>Probes and ends the process when <paramref name="args"/> ask for it; otherwise does nothing.</summary>
    public static void ExitIfRequested(string[] args)
    {
        var at = Array.IndexOf(args, Argument);
        if (at < 0)
        {
            return;
        }
        var url = at + 1 < args.Length && Uri.TryCreate(args[at + 1], UriKind.Absolute, out _) ? args[at + 1] : DefaultUrl();
        Environment.Exit(Probe(url));
    }

    private static string DefaultUrl()
    {
        var ports = Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS") ?? Environment.GetEnvironmentVariable("HTTP_PORTS");
        var port = ports?.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "8080";
        return $"http://127.0.0.1:{port}/health";
    }

    private static int Probe(string url)
    {
        try
        {
            using var http = new HttpClient { Timeout = Timeout };
            using var response = http.Send(new HttpRequestMessage(HttpMethod.Get, url));
            if (response.IsSuccessStatusCode)
            {
                return 0;
            }
            // Docker keeps the probe's output in `docker inspect`: say what was wrong.
            Console.Error.WriteLine($"{url} answered {(int)response.StatusCode}.");
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException)
        {
            Console.Error.WriteLine($"{url}: {e.Message}");
            return 1;
        }
    }
}
