using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>The command line of the container runtime (docker or podman) that Aspire's DCP drives.</summary>
internal sealed class ContainerRuntimeCli
{
    private ContainerRuntimeCli(string command) => Command = command;

    public string Command { get; }

    /// <summary>
    /// The runtime DCP will use, if it is healthy: the one named by <c>ASPIRE_CONTAINER_RUNTIME</c> (a setting or an
    /// environment variable, as for DCP), otherwise the first of docker and podman whose client can list containers
    /// (the probe Aspire itself runs).
    /// </summary>
    public static ContainerRuntimeCli? FindHealthy(IConfiguration configuration)
    {
        var configured = configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"];
        string[] candidates = string.IsNullOrWhiteSpace(configured) ? ["docker", "podman"] : [configured];
        return candidates.Select(c => new ContainerRuntimeCli(c))
            .FirstOrDefault(runtime => runtime.Run(["container", "ls", "-n", "1"], TimeSpan.FromSeconds(10)).Succeeded);
    }

    public bool HasImage(string image) => Run(["image", "inspect", "--format", "{{.Id}}", image], TimeSpan.FromSeconds(10)).Succeeded;

    public CliResult Pull(string image, TimeSpan timeout) => Run(["pull", image], timeout);

    private CliResult Run(string[] args, TimeSpan timeout)
    {
        Process? process;
        try
        {
            process = Process.Start(new ProcessStartInfo(Command, args)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
        }
        catch (Win32Exception e)
        {
            return new CliResult(false, $"{Command} is not installed ({e.Message})");
        }
        if (process is null)
        {
            return new CliResult(false, $"{Command} did not start");
        }
        using (process)
        {
            // Read both streams while waiting: a pull writes enough progress to fill a pipe and block.
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                return new CliResult(false, $"`{Command} {string.Join(' ', args)}` did not finish within {timeout.TotalSeconds:0} s");
            }
            return new CliResult(process.ExitCode == 0, LastLine(errors.Result) ?? LastLine(output.Result) ?? $"exit code {process.ExitCode}");
        }
    }

    private static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
}

/// <summary>Whether a runtime command succeeded, and the last thing it said (on failure, usually the reason).</summary>
internal sealed record CliResult(bool Succeeded, string Message);
