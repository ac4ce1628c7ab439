using System.Data.Common;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary><c>deploy/compose/compose.yaml</c>, validated and resolved by docker-compose itself.</summary>
public sealed class ComposeTests
{
    private static readonly string[] AppServices = ["api", "mcp"];

    [Fact]
    public async Task Compose_file_is_valid_once_every_value_in_env_example_is_filled_in()
    {
        var compose = await ComposeFile.WithEveryValueAsync();

        Assert.True(compose.Run.ExitCode == 0, $"docker-compose config refused compose.yaml:{Environment.NewLine}{compose.Run.Errors}");
        Assert.Equal(["api", "mcp", "postgres"], compose.Services.Select(s => s.Key).Order());
    }

    [Fact]
    public async Task Compose_refuses_to_start_while_a_secret_in_env_is_empty()
    {
        // .env.example as committed: every secret is empty, so a copy that was not filled in must not start.
        var run = await ComposeFile.ConfigAsync(ComposeFile.EnvExample).Timeout();

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("in .env", run.Errors);

        var work = Directory.CreateTempSubdirectory("compose-test-");
        try
        {
            var filled = (await ComposeFile.WithEveryValueAsync()).Values;
            foreach (var secret in new[] { "TASKMANAGER_ADMIN_TOKEN", "POSTGRES_PASSWORD", "TASKMANAGER_DB_PASSWORD" })
            {
                var envFile = Path.Combine(work.FullName, secret + ".env");
                await File.WriteAllLinesAsync(envFile, filled.Select(v => $"{v.Key}={(v.Key == secret ? "" : v.Value)}"), TestHelpers.Ct).Timeout();

                var withoutOne = await ComposeFile.ConfigAsync(envFile).Timeout();

                Assert.True(withoutOne.ExitCode != 0, $"compose.yaml accepted an empty {secret}.");
                Assert.Contains($"set {secret} in .env", withoutOne.Errors);
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Every_service_runs_read_only_without_capabilities_or_privilege_gain_and_restarts()
    {
        var compose = await ComposeFile.WithEveryValueAsync();

        foreach (var (name, service) in compose.Services)
        {
            Assert.True(service!["read_only"]?.GetValue<bool>() == true, $"{name} has a writable root filesystem.");
            Assert.Contains("/tmp", service["tmpfs"]?.AsArray().Select(t => t!.ToString()) ?? []);
            Assert.Equal(["ALL"], service["cap_drop"]?.AsArray().Select(c => c!.ToString()) ?? []);
            Assert.Null(service["cap_add"]);
            Assert.Contains("no-new-privileges:true", service["security_opt"]?.AsArray().Select(o => o!.ToString()) ?? []);
            Assert.Equal("unless-stopped", service["restart"]?.ToString());
            Assert.True(service["mem_limit"] is not null, $"{name} has no memory limit.");
            Assert.True(service["healthcheck"]?["test"] is not null, $"{name} has no health check.");
        }
    }

    [Fact]
    public async Task Only_the_board_api_and_the_mcp_server_are_published()
    {
        var compose = await ComposeFile.WithEveryValueAsync();

        foreach (var (name, _) in compose.Services)
        {
            var published = compose.PublishedTargetPorts(name);
            if (AppServices.Contains(name))
            {
                Assert.Single(published);
            }
            else
            {
                Assert.True(published.Count == 0, $"{name} publishes {string.Join(", ", published)}; only api and mcp may.");
            }
        }
        // Local only unless the deployer opens them (TASKMANAGER_BIND_ADDRESS): tokens travel over plain http.
        var raw = await File.ReadAllTextAsync(ComposeFile.FilePath, TestHelpers.Ct).Timeout();
        Assert.Equal(2, raw.Split("${TASKMANAGER_BIND_ADDRESS:-127.0.0.1}:").Length - 1);
    }

    [Fact]
    public async Task Api_waits_for_a_healthy_database_and_mcp_for_a_healthy_api()
    {
        var compose = await ComposeFile.WithEveryValueAsync();

        Assert.Equal("service_healthy", compose.Service("api")["depends_on"]?["postgres"]?["condition"]?.ToString());
        Assert.Equal("service_healthy", compose.Service("mcp")["depends_on"]?["api"]?["condition"]?.ToString());
        // Over TCP: while the image initialises a new volume its temporary server listens on the Unix socket only.
        Assert.Equal(["CMD", "pg_isready", "--host=127.0.0.1", "--username=postgres", "--dbname=tasks"],
            compose.Service("postgres")["healthcheck"]!["test"]!.AsArray().Select(t => t!.ToString()));
        Assert.Equal("postgres-data", compose.Service("postgres")["volumes"]!.AsArray().Select(v => v!.ToString().Split(':')[0]).First());
        Assert.True(compose.Config!["volumes"]?["postgres-data"] is not null, "The database's volume is not a named volume.");
    }

    [Theory]
    [InlineData("api", "TaskManager.Api")]
    [InlineData("mcp", "TaskManager.Mcp")]
    public async Task Compose_checks_health_with_the_command_the_image_uses(string service, string project)
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var healthCheck = Assert.Single(new Dockerfile(project).Final.All("HEALTHCHECK"));
        var imageCommand = healthCheck.ExecForm(after: healthCheck.Arguments[..healthCheck.Arguments.IndexOf("CMD", StringComparison.Ordinal)] + "CMD");

        Assert.Equal(["CMD", .. imageCommand!], compose.Service(service)["healthcheck"]!["test"]!.AsArray().Select(t => t!.ToString()));
    }

    [Fact]
    public async Task The_api_connects_as_the_non_superuser_role_that_owns_the_database()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var connection = new DbConnectionStringBuilder { ConnectionString = compose.Environment("api")["ConnectionStrings__tasks"] };
        var initScript = await File.ReadAllTextAsync(Path.Combine(ComposeFile.Folder, "postgres", "init-taskmanager.sh"), TestHelpers.Ct).Timeout();

        var role = connection["Username"].ToString()!;
        Assert.NotEqual("postgres", role);
        Assert.Contains($"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", initScript);
        Assert.Contains($"CREATE DATABASE {connection["Database"]} OWNER {role};", initScript);
        Assert.Equal(compose.Values["TASKMANAGER_DB_PASSWORD"], connection["Password"]);
        Assert.Equal(compose.Values["TASKMANAGER_DB_PASSWORD"], compose.Environment("postgres")["TASKMANAGER_DB_PASSWORD"]);
        Assert.Contains("init-taskmanager.sh:/docker-entrypoint-initdb.d/", compose.Service("postgres")["volumes"]!.ToJsonString());
    }
}
