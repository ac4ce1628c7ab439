using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// deploy/compose/compose.yaml run by podman the way compose runs it, from what <c>docker-compose config</c> resolved:
/// every service's image (built from its unchanged Dockerfile), user, environment, read-only root, tmpfs, dropped
/// capabilities, security options, memory limit and volumes, on a network of its own where services find
/// each other by name, started in dependency order, each waited on until its compose health check passes (run in the container as Docker runs it). Published ports go
/// to free loopback ports instead of 8000/8051. Containers, network and volume are removed on dispose; images stay.
/// </summary>
public sealed class ComposeStackOnPodman : IAsyncDisposable
{
    private static readonly TimeSpan HealthyTimeout = TimeSpan.FromMinutes(2);

    private readonly ComposeFile.Filled _compose;
    private readonly string _prefix = "tmtest" + Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
    private readonly Dictionary<string, int> _hostPorts = [];

    private ComposeStackOnPodman(ComposeFile.Filled compose) => _compose = compose;

    public string Network => $"{_prefix}_default";

    /// <summary>Builds the app images compose builds, then creates the network and volumes (nothing runs yet).</summary>
    public static async Task<ComposeStackOnPodman> CreateAsync(ComposeFile.Filled compose)
    {
        await Podman.EnsureStandInsAsync();
        var stack = new ComposeStackOnPodman(compose);
        foreach (var (name, service) in compose.Services)
        {
            if (service!["build"] is JsonObject build)
            {
                await BuildAsync(service["image"]!.ToString(), build);
            }
        }
        await Podman.RunAsync(["network", "create", stack.Network]);
        foreach (var (volume, _) in compose.Config!["volumes"]?.AsObject() ?? [])
        {
            await Podman.RunAsync(["volume", "create", stack.Volume(volume)]);
        }
        return stack;
    }

    /// <summary>The services in an order that starts each after what it depends on.</summary>
    public IReadOnlyList<string> StartOrder()
    {
        var order = new List<string>();
        void Visit(string name)
        {
            if (order.Contains(name))
            {
                return;
            }
            foreach (var (dependency, _) in _compose.Service(name)["depends_on"]?.AsObject() ?? [])
            {
                Visit(dependency);
            }
            order.Add(name);
        }
        foreach (var (name, _) in _compose.Services)
        {
            Visit(name);
        }
        return order;
    }

    /// <summary>Starts every service in dependency order, each once the services it depends on are healthy.</summary>
    public async Task UpAsync()
    {
        foreach (var service in StartOrder())
        {
            await StartAsync(service);
            await WaitHealthyAsync(service);
        }
    }

    /// <summary>Removes the containers and keeps the volumes (<c>compose down</c> without <c>-v</c>).</summary>
    public async Task DownAsync()
    {
        foreach (var service in StartOrder().Reverse())
        {
            await Podman.RunAsync(["rm", "--force", "--time", "10", Container(service)], mayFail: true);
        }
    }

    /// <summary><c>compose restart <paramref name="service"/></c>, then waits for its health check.</summary>
    public async Task RestartAsync(string service)
    {
        await Podman.RunAsync(["restart", "--time", "10", Container(service)]);
        await WaitHealthyAsync(service);
    }

    /// <summary>Where a published container port is reachable from the host.</summary>
    public Uri Address(string service) => new($"http://127.0.0.1:{_hostPorts[service]}/");

    public string Container(string service) => $"{_prefix}_{service}_1";

    public async Task<string> LogsAsync(string service) =>
        (await Podman.RunAsync(["logs", Container(service)], mayFail: true)) is var run ? run.Output + run.Errors : "";

    public async ValueTask DisposeAsync()
    {
        await DownAsync();
        await Podman.RunAsync(["network", "rm", "--force", Network], mayFail: true);
        foreach (var (volume, _) in _compose.Config!["volumes"]?.AsObject() ?? [])
        {
            await Podman.RunAsync(["volume", "rm", "--force", Volume(volume)], mayFail: true);
        }
    }

    private string Volume(string name) => $"{_prefix}_{name}";

    private static async Task BuildAsync(string image, JsonObject build)
    {
        var context = build["context"]!.ToString();
        var dockerfile = Path.Combine(context, build["dockerfile"]!.ToString());
        var revision = (await ChildProcess.RunAsync(new System.Diagnostics.ProcessStartInfo("git", ["-C", context, "rev-parse", "HEAD"]), TimeSpan.FromSeconds(30))).Output.Trim();
        await Podman.RunAsync(
            ["build", "--file", dockerfile, "--tag", image, "--build-arg", $"REVISION={revision}", "--build-arg", "VERSION=0.0.0-test", context],
            TimeSpan.FromMinutes(30));
    }

    private async Task StartAsync(string name)
    {
        var service = _compose.Service(name);
        List<string> args = ["run", "--detach", "--name", Container(name), "--network", Network, "--network-alias", name];
        if (service["user"] is { } user)
        {
            args.AddRange(["--user", user.ToString()]);
        }
        if (service["read_only"]?.GetValue<bool>() == true)
        {
            // As Docker: only the tmpfs mounts compose lists (podman would add its own on /run, /tmp and /var/tmp).
            args.AddRange(["--read-only", "--read-only-tmpfs=false"]);
        }
        foreach (var tmpfs in Strings(service["tmpfs"]))
        {
            // Docker mounts a tmpfs world-writable (1777) unless told otherwise; podman 4.3 under --read-only gives 1755
            // root-owned, where the postgres user could not create its socket.
            args.AddRange(["--tmpfs", tmpfs.Contains(':', StringComparison.Ordinal) ? tmpfs : $"{tmpfs}:mode=1777"]);
        }
        foreach (var capability in Strings(service["cap_drop"]))
        {
            args.AddRange(["--cap-drop", capability]);
        }
        foreach (var option in Strings(service["security_opt"]))
        {
            args.AddRange(["--security-opt", option]);
        }
        if (service["mem_limit"] is { } memory)
        {
            args.AddRange(["--memory", memory.ToString()]);
        }
        if (service["restart"] is { } restart)
        {
            args.AddRange(["--restart", restart.ToString()]);
        }
        foreach (var (variable, value) in _compose.Environment(name))
        {
            args.AddRange(["--env", $"{variable}={value}"]);
        }
        foreach (var volume in service["volumes"]?.AsArray() ?? [])
        {
            args.AddRange(["--volume", VolumeArgument(volume!)]);
        }
        foreach (var targetPort in _compose.PublishedTargetPorts(name))
        {
            _hostPorts[name] = _hostPorts.GetValueOrDefault(name, FreePort());
            args.AddRange(["--publish", $"127.0.0.1:{_hostPorts[name]}:{targetPort}"]);
        }
        args.Add(service["image"]!.ToString());
        await Podman.RunAsync(args);
    }

    /// <summary>Runs the service's health check until it passes, as compose's <c>condition: service_healthy</c> waits.</summary>
    private async Task WaitHealthyAsync(string service)
    {
        var deadline = DateTime.UtcNow + HealthyTimeout;
        while (true)
        {
            var check = await Podman.RunAsync(["exec", Container(service), .. HealthCommand(service)], TimeSpan.FromSeconds(30), mayFail: true);
            if (check.ExitCode == 0)
            {
                return;
            }
            var state = await Podman.RunAsync(["inspect", "--format", "{{.State.Status}}", Container(service)], mayFail: true);
            if (DateTime.UtcNow > deadline || state.Output.Trim() is "exited" or "stopped")
            {
                Assert.Fail($"{service} did not become healthy ({state.Output.Trim()}; last check: {check.Output}{check.Errors}). Its log:\n{await LogsAsync(service)}");
            }
            await Task.Delay(500, TestHelpers.Ct);
        }
    }

    /// <summary>
    /// The service's health check as Docker runs it: exec form (<c>CMD</c>) runs the command itself in the container, no
    /// shell. (podman 4.3 takes <c>--health-cmd</c> only as a shell string, which a chiseled image could not run.)
    /// </summary>
    private string[] HealthCommand(string service)
    {
        var test = _compose.Service(service)["healthcheck"]?["test"]?.AsArray().Select(t => t!.ToString()).ToArray()
            ?? throw new Xunit.Sdk.XunitException($"{service} has no health check to wait on.");
        return test[0] switch
        {
            "CMD" => test[1..],
            "CMD-SHELL" => ["/bin/sh", "-c", test[1]],
            _ => throw new Xunit.Sdk.XunitException($"{service}'s health check {string.Join(' ', test)} is neither CMD nor CMD-SHELL."),
        };
    }

    private string VolumeArgument(JsonNode volume)
    {
        // docker-compose 1.29 prints the short syntax "source:target[:mode]" with bind sources made absolute.
        var parts = volume.ToString().Split(':');
        var source = parts[0].StartsWith('/') ? parts[0] : Volume(parts[0]);
        return string.Join(':', [source, .. parts[1..]]);
    }

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonArray array => array.Select(n => n!.ToString()),
        null => [],
        _ => [node.ToString()],
    };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
