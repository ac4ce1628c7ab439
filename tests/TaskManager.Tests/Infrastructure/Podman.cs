using System.Collections.Concurrent;
using System.Diagnostics;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// Debian's podman, the container engine these tests can run here (no Docker engine), and local stand-ins for the
/// container images this machine cannot pull. eng/containers/standin-images.sh installs podman when missing, gives it
/// the settings this kind of machine needs and builds the stand-ins (quick when already done).
/// </summary>
public static class Podman
{
    private static readonly TimeSpan StandInTimeout = TimeSpan.FromMinutes(20);
    private static readonly string Script = Path.Combine(TestHelpers.RepositoryRoot(), "eng", "containers", "standin-images.sh");

    /// <summary>One run of the script per image set, its outcome (failure included) kept for the whole test run.</summary>
    private static readonly ConcurrentDictionary<string, Lazy<Task>> StandIns = new();

    /// <summary>Two runs at once would both install packages and build the same images.</summary>
    private static readonly SemaphoreSlim OneScriptAtATime = new(1, 1);

    /// <summary>
    /// Installs podman and makes the stand-ins for <paramref name="images"/> (the script's names: postgres, node, sdk,
    /// runtime-deps, aspnet; every one when none are given). Runs the script once per test run and image set.
    /// </summary>
    public static Task EnsureStandInsAsync(params string[] images)
    {
        var set = string.Join(' ', images.Order(StringComparer.Ordinal));
        return StandIns.GetOrAdd(set, _ => new Lazy<Task>(() => RunScriptAsync(images)))
            .Value.WaitAsync(StandInTimeout, TestHelpers.Ct);
    }

    /// <summary>Runs <c>podman <paramref name="args"/></c>; fails the test with its output unless it exits 0 or <paramref name="mayFail"/>.</summary>
    public static async Task<ProcessResult> RunAsync(IEnumerable<string> args, TimeSpan? timeout = null, bool mayFail = false)
    {
        var list = args.ToList();
        var run = await ChildProcess.RunAsync(new ProcessStartInfo("podman", list), timeout ?? TimeSpan.FromMinutes(2));
        Assert.True(mayFail || run.ExitCode == 0, $"podman {string.Join(' ', list)} exited with {run.ExitCode}:\n{run.Output}\n{run.Errors}");
        return run;
    }

    private static async Task RunScriptAsync(string[] images)
    {
        await OneScriptAtATime.WaitAsync(TestHelpers.Ct);
        try
        {
            var run = await ChildProcess.RunAsync(new ProcessStartInfo("bash", [Script, .. images]), StandInTimeout);
            Assert.True(run.ExitCode == 0, $"{string.Join(' ', [Script, .. images])} exited with {run.ExitCode}:\n{run.Output}\n{run.Errors}");
        }
        finally
        {
            OneScriptAtATime.Release();
        }
    }
}
