using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// The built api (the test project's reference builds it) as a real child process on a fixed loopback port, so that a
/// test can kill it with SIGKILL mid-request and start it again where its clients expect it.
/// </summary>
public sealed class ApiProcess : IDisposable
{
    private const int KeptOutputLines = 200;
    private readonly Dictionary<string, string> _environment;
    private readonly Queue<string> _output = new();
    private Process? _process;

    private ApiProcess(int port, string connectionString, string adminToken)
    {
        Address = new Uri($"http://127.0.0.1:{port}/");
        _environment = new()
        {
            ["ConnectionStrings__tasks"] = connectionString,
            ["Auth__AdminToken"] = adminToken,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            // The load is far busier than any one client is allowed to be: limits have tests of their own.
            ["Limits__Enabled"] = "false",
            // Requests are many: only warnings and errors are worth keeping for a failure message.
            ["Logging__LogLevel__Default"] = "Warning",
        };
    }

    public Uri Address { get; }

    /// <summary>Starts the api on a free port; <see cref="WaitHealthyAsync"/> says when it is ready.</summary>
    public static ApiProcess Start(string connectionString, string adminToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var api = new ApiProcess(port, connectionString, adminToken);
        api.Launch();
        return api;
    }

    /// <summary>The last lines the api printed, across restarts (for failure messages).</summary>
    public string RecentOutput
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>Starts the api again on the same port, after <see cref="Kill"/>.</summary>
    public void Launch()
    {
        var dll = Path.Combine(TestHelpers.RepositoryRoot(), "src", "TaskManager.Api", "bin", BuildConfiguration(), "net10.0", "TaskManager.Api.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build the test project (it builds the api).");
        }
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            // As `dotnet run` would: the content root (wwwroot, appsettings) is the project folder.
            WorkingDirectory = Path.Combine(TestHelpers.RepositoryRoot(), "src", "TaskManager.Api"),
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // An AppHost's telemetry endpoint, inherited from a test run under Aspire, would only slow the kills down.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in _environment)
        {
            start.Environment[name] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start the api.");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>kill -9: no shutdown, no draining, open requests and streams cut mid-way.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Waits until <c>/health</c> answers 200 (migrated and its database reachable), within <paramref name="limit"/>.</summary>
    public async Task WaitHealthyAsync(TimeSpan limit, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (_process is { HasExited: true } exited)
            {
                throw new InvalidOperationException($"The api exited with {exited.ExitCode}:\n{RecentOutput}");
            }
            try
            {
                using var response = await http.GetAsync("/health", ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                // Not listening yet, or its database does not answer yet.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The api was not healthy within {limit}:\n{RecentOutput}");
            }
            await Task.Delay(100, ct);
        }
    }

    public void Dispose() => Kill();

    /// <summary>Debug or Release, as the test assembly itself was built (…/bin/{configuration}/net10.0/).</summary>
    private static string BuildConfiguration() =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > KeptOutputLines)
            {
                _output.Dequeue();
            }
        }
    }
}
