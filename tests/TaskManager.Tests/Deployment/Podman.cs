using System.Diagnostics;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// Debian's podman, the container engine these tests can run here (no Docker engine). It is installed and given its
/// settings, with the stand-in base images, by eng/containers/standin-images.sh.
/// </summary>
public static class Podman
{
    private static readonly Lazy<Task> Prepared = new(PrepareAsync);

    /// <summary>Installs podman and makes the stand-in base images (once per test run; quick when already done).</summary>
    public static Task EnsureReadyAsync() => Prepared.Value.WaitAsync(TimeSpan.FromMinutes(20), TestHelpers.Ct);

    /// <summary>Runs <c>podman <paramref name="args"/></c>; fails the test with its output unless it exits 0 or <paramref name="mayFail"/>.</summary>
    public static async Task<ProcessResult> RunAsync(IEnumerable<string> args, TimeSpan? timeout = null, bool mayFail = false)
    {
        var list = args.ToList();
        var run = await ChildProcess.RunAsync(new ProcessStartInfo("podman", list), timeout ?? TimeSpan.FromMinutes(2));
        Assert.True(mayFail || run.ExitCode == 0, $"podman {string.Join(' ', list)} exited with {run.ExitCode}:\n{run.Output}\n{run.Errors}");
        return run;
    }

    private static async Task PrepareAsync()
    {
        var script = Path.Combine(TestHelpers.RepositoryRoot(), "eng", "containers", "standin-images.sh");
        var run = await ChildProcess.RunAsync(new ProcessStartInfo("bash", [script]), TimeSpan.FromMinutes(20));
        Assert.True(run.ExitCode == 0, $"{script} failed:\n{run.Output}\n{run.Errors}");
    }
}
