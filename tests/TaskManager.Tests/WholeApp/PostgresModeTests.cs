using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
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
        await using var external = await app.StartAppHostAsync("--Postgres:Mode=external", $"--ConnectionStrings:tasks={app.DatabaseConnectionString}");

        Assert.DoesNotContain(external.Services.GetRequiredService<DistributedApplicationModel>().Resources, r => r.Name == "postgres");
        var client = AppFixture.Authorize(external.CreateHttpClient("api"), app.AdminToken);
        var project = await client.CreateProjectAsync();
        var seenByMainApp = await app.CreateApiClient().GetAsync($"/api/projects/{project.GetProperty("key").GetString()}", TestHelpers.Ct).Timeout();
        Assert.Equal(System.Net.HttpStatusCode.OK, seenByMainApp.StatusCode);
        await external.StopAsync(TestHelpers.Ct).Timeout();
    }

    [Fact]
    public async Task Local_mode_signs_the_api_in_as_a_role_that_owns_its_database_and_is_no_superuser() =>
        await AssertLeastPrivilegeAsync(app.DatabaseConnectionString);

    /// <summary>The connection string signs in as the application's role: it owns the database and every table the migrations made, and may do nothing beyond.</summary>
    internal static async Task AssertLeastPrivilegeAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var command = new NpgsqlCommand("""
            SELECT current_user::text, r.rolsuper, r.rolcreaterole, r.rolcreatedb,
                   (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()),
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relowner <> r.oid),
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r')
            FROM pg_roles r WHERE r.rolname = current_user
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(TestHelpers.Ct).Timeout();
        Assert.True(await reader.ReadAsync(TestHelpers.Ct));

        Assert.Equal("taskmanager", reader.GetString(0));
        Assert.False(reader.GetBoolean(1), "The api's role is a superuser.");
        Assert.False(reader.GetBoolean(2), "The api's role may create roles.");
        Assert.False(reader.GetBoolean(3), "The api's role may create databases.");
        Assert.Equal("taskmanager", reader.GetString(4));
        Assert.Equal(0, reader.GetInt64(5));
        Assert.True(reader.GetInt64(6) > 5, "The migrations made no tables.");
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Local_mode_keeps_its_passwords_in_files_only_their_owner_can_read()
    {
        var server = app.App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .OfType<ExecutableResource>().Single(r => r.Name == "postgres");

        foreach (var file in new[] { "password", "app-password" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(server.WorkingDirectory, file)));
        }
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " " + Flatten(e.InnerException);
}
