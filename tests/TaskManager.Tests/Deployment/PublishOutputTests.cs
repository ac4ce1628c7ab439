using System.Security.Cryptography;
using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// api and mcp from their publish output, run as their images run them with the environment compose gives them; no
/// container engine needed. The database is the test run's PostgreSQL, with a role and database made the way the
/// compose stack's init script makes them (a non-superuser that owns its database).
/// </summary>
[Collection(DeploymentCollection.Name)]
public sealed class PublishOutputTests(AppFixture app)
{
    [Fact]
    public async Task Api_and_mcp_from_their_publish_output_serve_the_board_rest_and_mcp_and_answer_their_health_probes()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var (database, password) = await CreateOwnedDatabaseAsync();
        var server = new NpgsqlConnectionStringBuilder(app.DatabaseConnectionString);
        var adminToken = compose.Environment("api")["Auth__AdminToken"];

        var apiEnvironment = new Dictionary<string, string>(compose.Environment("api"))
        {
            ["ConnectionStrings__tasks"] = new NpgsqlConnectionStringBuilder(compose.Environment("api")["ConnectionStrings__tasks"])
            {
                Host = server.Host, Port = server.Port, Database = database, Username = database, Password = password,
            }.ConnectionString,
        };
        await using var api = await PublishedService.StartAsync("TaskManager.Api", apiEnvironment);
        await api.WaitHealthyAsync();

        var mcpEnvironment = new Dictionary<string, string>(compose.Environment("mcp"))
        {
            ["services__api__http__0"] = api.Address.ToString().TrimEnd('/'),
        };
        await using var mcp = await PublishedService.StartAsync("TaskManager.Mcp", mcpEnvironment);
        await mcp.WaitHealthyAsync();

        var stack = new DeployedStack(api.Address, mcp.Address, adminToken);
        await stack.AssertBoardIsServedAsync();
        var project = await stack.CreateProjectWithTaskAsync("Shipped from the publish output");
        await stack.AssertMcpFindsProjectAsync(project);
        Assert.DoesNotContain("fail: ", api.Output);
        Assert.DoesNotContain("fail: ", mcp.Output);
    }

    /// <summary>The statements of deploy/compose/postgres/init-taskmanager.sh, under a name of this test's own.</summary>
    private async Task<(string Database, string Password)> CreateOwnedDatabaseAsync()
    {
        var name = "smoke_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await using var connection = new NpgsqlConnection(app.AdminConnectionString);
        await connection.OpenAsync(TestHelpers.Ct);
        foreach (var sql in new[]
        {
            $"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'",
            $"CREATE DATABASE {name} OWNER {name}",
            $"REVOKE ALL ON DATABASE {name} FROM PUBLIC",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(TestHelpers.Ct);
        }
        return (name, password);
    }
}
