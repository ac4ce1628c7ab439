using System.Diagnostics;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// Podman and local stand-ins for the container images this machine cannot pull, made by
/// eng/containers/standin-images.sh (which installs podman when missing; quick when already done).
/// </summary>
public static class StandInImages
{
    public static async Task EnsureAsync(params string[] images)
    {
        var script = Path.Combine(TestHelpers.RepositoryRoot(), "eng", "containers", "standin-images.sh");
        var run = await ChildProcess.RunAsync(new ProcessStartInfo("bash", [script, .. images]), TimeSpan.FromMinutes(20));
        Assert.True(run.ExitCode == 0, $"{script} {string.Join(' ', images)} failed:\n{run.Output}\n{run.Errors}");
    }
}
