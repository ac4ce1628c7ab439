using System.Diagnostics;
using System.Text.Json.Nodes;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

public sealed class ManifestTests
{
    [Fact]
    public async Task The_committed_aspire_manifest_matches_the_apphost()
    {
        var root = RepositoryRoot();
        var generated = Path.Combine(root, $"aspire-manifest.{Guid.NewGuid():N}.tmp.json");
        try
        {
            // Written beside the committed file so the relative project paths inside come out the same.
            var start = new ProcessStartInfo("dotnet",
                ["run", "--no-build", "--project", Path.Combine(root, "src", "TaskManager.AppHost"), "--",
                 "--publisher", "manifest", "--output-path", generated])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = root,
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(TestHelpers.Ct);
            var errors = process.StandardError.ReadToEndAsync(TestHelpers.Ct);
            try
            {
                await process.WaitForExitAsync(TestHelpers.Ct).WaitAsync(TimeSpan.FromMinutes(2), TestHelpers.Ct);
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            Assert.True(process.ExitCode == 0, $"Manifest publisher failed: {await output}{await errors}");

            var committed = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "aspire-manifest.json"), TestHelpers.Ct).Timeout());
            var current = JsonNode.Parse(await File.ReadAllTextAsync(generated, TestHelpers.Ct).Timeout());
            Assert.True(JsonNode.DeepEquals(committed, current),
                "aspire-manifest.json is out of date. Regenerate it with: " +
                "dotnet run --project src/TaskManager.AppHost -- --publisher manifest --output-path aspire-manifest.json");
        }
        finally
        {
            File.Delete(generated);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TaskManager.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("TaskManager.sln not found above the test binaries.");
    }
}
