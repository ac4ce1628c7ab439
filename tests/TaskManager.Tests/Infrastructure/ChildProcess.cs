using System.Diagnostics;

namespace TaskManager.Tests.Infrastructure;

/// <summary>What a finished child process printed and returned.</summary>
public sealed record ProcessResult(int ExitCode, string Output, string Errors);

public static class ChildProcess
{
    /// <summary>
    /// Runs <paramref name="start"/> to completion, capturing its output; past <paramref name="timeout"/> (or when the
    /// test is cancelled) the process tree is killed and the wait throws.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        var output = process.StandardOutput.ReadToEndAsync(TestHelpers.Ct);
        var errors = process.StandardError.ReadToEndAsync(TestHelpers.Ct);
        try
        {
            await process.WaitForExitAsync(TestHelpers.Ct).WaitAsync(timeout, TestHelpers.Ct);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        return new ProcessResult(process.ExitCode, await output, await errors);
    }
}
