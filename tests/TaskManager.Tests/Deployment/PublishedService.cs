using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// A service's <c>dotnet publish</c> output run the way its image runs it: the image's entry point (the native
/// binary) from its folder, as the image's user (UID 1654) when the tests run as root, with only the environment the
/// image and compose give it. Published once per test run.
/// </summary>
public sealed class PublishedService : IAsyncDisposable
{
    public const int ImageUser = 1654;

    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan HealthyTimeout = TimeSpan.FromMinutes(1);
    private static readonly Dictionary<string, Lazy<Task<string>>> Outputs = new()
    {
        ["TaskManager.Api"] = new(() => PublishAsync("TaskManager.Api")),
        ["TaskManager.Mcp"] = new(() => PublishAsync("TaskManager.Mcp")),
    };

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _binary;
    private readonly IReadOnlyDictionary<string, string> _environment;

    private PublishedService(string binary, IReadOnlyDictionary<string, string> environment, int port)
    {
        _binary = binary;
        _environment = environment;
        Address = new Uri($"http://127.0.0.1:{port}/");
        _process = Process.Start(StartInfo(binary, [], environment))
            ?? throw new InvalidOperationException($"{binary} did not start.");
        _process.OutputDataReceived += (_, e) => Log(e.Data);
        _process.ErrorDataReceived += (_, e) => Log(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    /// <summary>What the service printed so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>
    /// Publishes (once per run) and starts <paramref name="project"/> on a free loopback port, with the image's
    /// environment plus <paramref name="environment"/> (what compose sets; its HTTP_PORTS is replaced by that port).
    /// </summary>
    public static async Task<PublishedService> StartAsync(string project, IReadOnlyDictionary<string, string> environment)
    {
        var folder = await Outputs[project].Value.WaitAsync(PublishTimeout, TestHelpers.Ct);
        var port = FreePort();
        var env = new Dictionary<string, string>(environment)
        {
            // What the runtime-deps image and our Dockerfile set; the port is free one instead of 8080.
            ["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["APP_UID"] = ImageUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DOTNET_RUNNING_IN_CONTAINER"] = "true",
        };
        if (env.ContainsKey("HTTP_PORTS"))
        {
            env["HTTP_PORTS"] = env["ASPNETCORE_HTTP_PORTS"];
        }
        return new PublishedService(Path.Combine(folder, project), env, port);
    }

    /// <summary>Runs the image's health check (<c>{binary} --health-probe</c>) until it passes, as Docker would.</summary>
    public async Task WaitHealthyAsync()
    {
        var deadline = DateTime.UtcNow + HealthyTimeout;
        ProcessResult probe;
        do
        {
            Assert.False(_process.HasExited, $"{Path.GetFileName(_binary)} exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Output}");
            probe = await ChildProcess.RunAsync(StartInfo(_binary, ["--health-probe"], _environment), TimeSpan.FromSeconds(10));
            if (probe.ExitCode == 0)
            {
                return;
            }
            await Task.Delay(200, TestHelpers.Ct);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"{Path.GetFileName(_binary)} was not healthy after {HealthyTimeout}: the probe said {probe.Errors.Trim()}\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // docker stop: SIGTERM, then a grace period.
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }

    private static ProcessStartInfo StartInfo(string binary, string[] args, IReadOnlyDictionary<string, string> environment)
    {
        var asImageUser = Environment.UserName == "root";
        var start = asImageUser
            ? new ProcessStartInfo("setpriv", [$"--reuid={ImageUser}", $"--regid={ImageUser}", "--clear-groups", "--", binary, .. args])
            : new ProcessStartInfo(binary, args);
        start.WorkingDirectory = Path.GetDirectoryName(binary)!;
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // Only what the image has: nothing from the test run (no ASPNETCORE_ENVIRONMENT, no DOTNET_ settings).
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        return start;
    }

    private static async Task<string> PublishAsync(string project)
    {
        // One directory per checkout: test runs of two clones on one machine must not delete each other's binaries.
        var checkout = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(TestHelpers.RepositoryRoot())))[..12];
        var root = Path.Combine(Path.GetTempPath(), "taskmanager-publish");
        var output = Path.Combine(root, checkout, project);
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }
        var csproj = Path.Combine(TestHelpers.RepositoryRoot(), "src", project, $"{project}.csproj");
        // As the Dockerfile publishes (Release, linux-x64, Native AOT from the project file).
        var run = await ChildProcess.RunAsync(
            new ProcessStartInfo("dotnet", ["publish", csproj, "-c", "Release", "-r", "linux-x64", "-o", output, "-p:TreatWarningsAsErrors=true"]),
            PublishTimeout);
        Assert.True(run.ExitCode == 0, $"dotnet publish {project} failed:\n{run.Output}\n{run.Errors}");
        // The image's user must be able to read and run it, as in the image (files owned by root, world-readable).
        if (!OperatingSystem.IsWindows())
        {
            foreach (var dir in new[] { root, Path.GetDirectoryName(output)!, output })
            {
                File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
            }
        }
        return output;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Log(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
