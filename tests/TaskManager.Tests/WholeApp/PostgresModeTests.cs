using Aspire.Hosting;
using Aspire.Hosting.Testing;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>The AppHost's choice of PostgreSQL, beyond the default the rest of the run uses.</summary>
public sealed class PostgresModeTests(AppFixture app)
{
    [Fact]
    public async Task Local_mode_without_server_binaries_fails_at_once_saying_how_to_fix_it()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => DistributedApplicationTestingBuilder.CreateAsync<Projects.TaskManager_AppHost>(
            ["--Postgres:Mode=local", "--Postgres:BinDirectory=/nonexistent/postgres/bin", "--Parameters:admin-token=unused-token-0123456789"],
            TestHelpers.Ct).Timeout());

        Assert.Contains("Postgres:BinDirectory", Flatten(error));
    }

    [Fact]
    public async Task External_mode_runs_the_api_on_the_given_database()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.TaskManager_AppHost>(
            ["--Postgres:Mode=external", $"--ConnectionStrings:tasks={app.DatabaseConnectionString}", $"--Parameters:admin-token={app.AdminToken}"],
            TestHelpers.Ct).Timeout();
        AppFixture.WithoutTelemetryExport(builder);
        await using var external = await builder.BuildAsync(TestHelpers.Ct).Timeout();
        using var start = CancellationTokenSource.CreateLinkedTokenSource(TestHelpers.Ct);
        start.CancelAfter(AppFixture.StartTimeout);

        await external.StartAsync(start.Token).WaitAsync(AppFixture.StartTimeout, TestHelpers.Ct);
        await external.ResourceNotifications.WaitForResourceHealthyAsync("api", start.Token).WaitAsync(AppFixture.StartTimeout, TestHelpers.Ct);

        Assert.DoesNotContain(builder.Resources, r => r.Name == "postgres");
        var client = AppFixture.Authorize(external.CreateHttpClient("api"), app.AdminToken);
        var project = await client.CreateProjectAsync();
        var seenByMainApp = await app.CreateApiClient().GetAsync($"/api/projects/{project.GetProperty("key").GetString()}", TestHelpers.Ct).Timeout();
        Assert.Equal(System.Net.HttpStatusCode.OK, seenByMainApp.StatusCode);
        await external.StopAsync(TestHelpers.Ct).Timeout();
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " " + Flatten(e.InnerException);
}
