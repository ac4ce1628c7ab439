extern alias api;

using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class MigrationTests(AppFixture app)
{
    private static readonly int EmbeddedMigrationCount = typeof(api::TaskManager.Api.Database.DatabaseMigrator).Assembly
        .GetManifestResourceNames().Count(n => n.Contains(".Database.Migrations.", StringComparison.Ordinal));

    [Fact]
    public async Task Replicas_starting_together_migrate_an_empty_database_once()
    {
        await using var database = await ScratchDatabase.CreateAsync(app.AdminConnectionString, "replicas");
        var connectionString = database.ConnectionString;

        var replicas = Enumerable.Range(0, 3).Select(_ => new ApiFactory(connectionString, app.AdminToken)).ToArray();
        try
        {
            // Creating a client starts the host, migrations included: start all three at the same moment.
            using var go = new ManualResetEventSlim();
            var starts = replicas.Select(r => Task.Run(() =>
            {
                go.Wait(TestHelpers.Ct);
                return r.CreateClient(token: null);
            })).ToArray();
            go.Set();
            var clients = await Task.WhenAll(starts).WaitAsync(TimeSpan.FromMinutes(2), TestHelpers.Ct);
            var health = await Task.WhenAll(clients.Select(c => c.GetStringAsync("/health", TestHelpers.Ct))).Timeout();

            Assert.All(health, h => Assert.Equal("Healthy", h));
            await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
            await connection.OpenAsync(TestHelpers.Ct).Timeout();
            await using var count = new NpgsqlCommand("SELECT count(*), count(DISTINCT version) FROM schema_migrations", connection);
            await using var reader = await count.ExecuteReaderAsync(TestHelpers.Ct).Timeout();
            await reader.ReadAsync(TestHelpers.Ct).Timeout();
            Assert.Equal(EmbeddedMigrationCount, reader.GetInt64(0));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync().AsTask().Timeout();
            }
        }
    }
}
