using System.Diagnostics;
using System.Text.Json.Nodes;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

public sealed class ManifestTests
{
    [Fact]
    public async Task The_committed_aspire_manifest_matches_the_apphost()
    {
        var root = TestHelpers.RepositoryRoot();
        var generated = Path.Combine(root, $"aspire-manifest.{Guid.NewGuid():N}.tmp.json");
        try
        {
            // Written beside the committed file so the relative project paths inside come out the same.
            var start = new ProcessStartInfo("dotnet",
                ["run", "--no-build", "--project", Path.Combine(root, "src", "TaskManager.AppHost"), "--",
                 "--publisher", "manifest", "--output-path", generated])
            {
                WorkingDirectory = root,
            };
            var run = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(2));
            Assert.True(run.ExitCode == 0, $"Manifest publisher failed: {run.Output}{run.Errors}");

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
}
