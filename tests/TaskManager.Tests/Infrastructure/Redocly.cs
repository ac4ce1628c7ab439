using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// Redocly CLI, pinned in <c>eng/tools/package-lock.json</c> and installed with <c>npm ci --prefix eng/tools</c>;
/// its settings (rules we turn off, each with the reason) are in <c>eng/tools/redocly.yaml</c>.
/// </summary>
public static class Redocly
{
    private static readonly TimeSpan LintTimeout = TimeSpan.FromMinutes(1);

    /// <summary>Lints an OpenAPI document file with Redocly's <c>recommended</c> rules.</summary>
    public static async Task<LintResult> LintAsync(string documentFile)
    {
        var root = TestHelpers.RepositoryRoot();
        var tools = Path.Combine(root, "eng", "tools");
        var cli = Path.Combine(tools, "node_modules", "@redocly", "cli", "bin", "cli.js");
        Assert.True(File.Exists(cli), $"Redocly CLI is not installed ({cli} is missing). Install it with: npm ci --prefix eng/tools");

        var start = new ProcessStartInfo("node",
            [cli, "lint", "--extends=recommended", "--config", Path.Combine(tools, "redocly.yaml"), "--format=json", documentFile])
        {
            WorkingDirectory = root,
            // The test machine may have no internet: no usage reports, no update checks to wait for.
            Environment = { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true" },
        };
        ProcessResult run;
        try
        {
            run = await ChildProcess.RunAsync(start, LintTimeout);
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("Redocly CLI needs Node.js 20.19+ (or 22.12+) as `node` on PATH.", e);
        }

        LintReport? report = null;
        try
        {
            report = JsonSerializer.Deserialize<LintReport>(run.Output, TestHelpers.Json);
        }
        catch (JsonException)
        {
            // No report (Redocly itself failed); the result shows what it printed.
        }
        return new LintResult(run, report);
    }
}

/// <summary>A Redocly lint run: its exit code and output, and the report it printed (<c>--format=json</c>), if any.</summary>
public sealed record LintResult(ProcessResult Run, LintReport? Report)
{
    public bool IsClean => Run.ExitCode == 0 && Report is { Totals: { Errors: 0, Warnings: 0 }, Problems: [] };

    public override string ToString() =>
        Report is null
            ? $"Redocly exited with {Run.ExitCode} and no report:{Environment.NewLine}{Run.Output}{Run.Errors}"
            : $"Redocly exited with {Run.ExitCode}: {Report.Totals.Errors} errors, {Report.Totals.Warnings} warnings." +
              string.Concat(Report.Problems.Select(p => Environment.NewLine + p));
}

public sealed record LintReport(LintTotals Totals, LintProblem[] Problems);

public sealed record LintTotals(int Errors, int Warnings);

public sealed record LintProblem(string RuleId, string Severity, string Message, LintLocation[] Location)
{
    public override string ToString() => $"  {Severity} {RuleId} at {string.Join(", ", Location.Select(l => l.Pointer))}: {Message}";
}

public sealed record LintLocation(string Pointer);
