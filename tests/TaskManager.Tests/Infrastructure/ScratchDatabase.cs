using Npgsql;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// An empty database of its own on the test run's server, dropped afterwards: for tests that change the schema (a
/// trigger) or need a database no other test writes to.
/// </summary>
public sealed class ScratchDatabase : IAsyncDisposable
{
    private readonly string _server;

    public string Name { get; }

    public string ConnectionString { get; }

    private ScratchDatabase(string server, string name, string connectionString) =>
        (_server, Name, ConnectionString) = (server, name, connectionString);

    public static async Task<ScratchDatabase> CreateAsync(string connectionString, string prefix)
    {
        var name = prefix + "_" + Guid.NewGuid().ToString("N");
        var server = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await ExecuteAsync(server, $"CREATE DATABASE {name}");
        return new ScratchDatabase(server, name, new NpgsqlConnectionStringBuilder(connectionString) { Database = name }.ConnectionString);
    }

    /// <summary>Runs <paramref name="sql"/> in this database, on a connection of its own.</summary>
    public Task ExecuteAsync(string sql) =>
        ExecuteAsync(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString, sql);

    public async ValueTask DisposeAsync() => await ExecuteAsync(_server, $"DROP DATABASE {Name} WITH (FORCE)");

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout();
    }
}
