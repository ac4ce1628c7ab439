using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class MigrationTests(AppFixture app)
{
    [Fact]
    public async Task Replicas_starting_together_migrate_an_empty_database_once()
    {
        var database = "replicas_" + Guid.NewGuid().ToString("N");
        var server = new NpgsqlConnectionStringBuilder(app.DatabaseConnectionString) { Database = "postgres", Pooling = false };
        await using (var admin = new NpgsqlConnection(server.ConnectionString))
        {
            await admin.OpenAsync(TestHelpers.Ct).Timeout();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(app.DatabaseConnectionString) { Database = database }.ConnectionString;

        var replicas = Enumerable.Range(0, 3).Select(_ => new ApiFactory(connectionString, app.AdminToken)).ToArray();
        try
        {
            var health = await Task.WhenAll(replicas.Select(r => r.CreateClient(token: null).GetStringAsync("/health", TestHelpers.Ct))).Timeout();

            Assert.All(health, h => Assert.Equal("Healthy", h));
            await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
            await connection.OpenAsync(TestHelpers.Ct).Timeout();
            await using var count = new NpgsqlCommand("SELECT count(*), count(DISTINCT version) FROM schema_migrations", connection);
            await using var reader = await count.ExecuteReaderAsync(TestHelpers.Ct).Timeout();
            await reader.ReadAsync(TestHelpers.Ct).Timeout();
            Assert.True(reader.GetInt64(0) > 0);
            Assert.Equal(reader.GetInt64(0), reader.GetInt64(1));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }
}
