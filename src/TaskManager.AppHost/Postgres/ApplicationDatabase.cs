using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A database on a PostgreSQL server of the AppHost (local binaries or container), owned by the application's role; its
/// connection string signs in as that role (least privilege: no superuser, cannot create roles or databases). The
/// server's superuser makes the role and the database once the server is ready (<see cref="ApplicationRole"/>).
/// </summary>
public sealed class ApplicationDatabaseResource(
    string name, string databaseName, IResourceWithConnectionString server, EndpointReference endpoint, ParameterResource applicationPassword)
    : Resource(name), IResourceWithParent, IResourceWithConnectionString
{
    public IResource Parent { get; } = server;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={endpoint.Property(EndpointProperty.Host)};Port={endpoint.Property(EndpointProperty.Port)};Username={ApplicationRole.Name};Password={applicationPassword};Database={DatabaseName}");
}

/// <summary>The application's role and its databases, made and kept in step by the server's superuser.</summary>
public static class ApplicationRole
{
    /// <summary>The role the application connects as: it owns its databases, and is no superuser.</summary>
    public const string Name = "taskmanager";

    /// <summary>
    /// Adds <paramref name="database"/> to the model: not started until <see cref="ReadyAsync"/> has made it, then
    /// running and healthy once the application's role can sign in to it.
    /// </summary>
    internal static IResourceBuilder<ApplicationDatabaseResource> AddApplicationDatabase(
        this IDistributedApplicationBuilder builder, ApplicationDatabaseResource database)
    {
        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(database, async (_, ct) =>
            connectionString = await database.ConnectionStringExpression.GetValueAsync(ct));

        var healthCheckKey = $"{database.Name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(
            _ => $"{connectionString ?? throw new InvalidOperationException("The connection string is not available yet.")};Pooling=false",
            name: healthCheckKey);

        return builder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresDatabase",
                State = KnownResourceStates.NotStarted,
                Properties = [],
            })
            .WithHealthCheck(healthCheckKey)
            .WithIconName("DatabaseStack");
    }

    /// <summary>
    /// Run as the superuser once the server is ready: the role (its password kept in step with the parameter), each
    /// database (made if missing, handed over if an earlier version made it), then each database is marked running.
    /// </summary>
    internal static async Task ReadyAsync(
        string serverConnectionString, string password, IEnumerable<ApplicationDatabaseResource> databases,
        ResourceNotificationService notifications, CancellationToken ct)
    {
        await using (var connection = DatabaseModeExtensions.OpenAdminConnection(serverConnectionString))
        {
            await connection.OpenAsync(ct);
            await EnsureRoleAsync(connection, password, ct);
            foreach (var database in databases)
            {
                await CreateDatabaseIfMissingAsync(connection, database.DatabaseName, ct);
            }
        }
        foreach (var database in databases)
        {
            await HandOverAsync(serverConnectionString, database.DatabaseName, ct);
            await notifications.PublishUpdateAsync(database, s => s with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
            });
        }
    }

    /// <summary>
    /// The application's role: it may sign in and owns its databases (so its migrations can create tables), and is no
    /// superuser, cannot create roles or databases. Its password is kept in step with the parameter.
    /// </summary>
    private static async Task EnsureRoleAsync(NpgsqlConnection connection, string password, CancellationToken ct)
    {
        // Utility statements take no parameters: the role name is a constant and the password one we generated, quoted
        // all the same.
        var literal = "'" + password.Replace("'", "''") + "'";
        await using var role = new NpgsqlCommand($"""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{Name}') THEN
                    CREATE ROLE {Name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
                END IF;
            END $$;
            ALTER ROLE {Name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {literal};
            """, connection);
        await role.ExecuteNonQueryAsync(ct);
    }

    private static async Task CreateDatabaseIfMissingAsync(NpgsqlConnection connection, string databaseName, CancellationToken ct)
    {
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", databaseName);
        if (await exists.ExecuteScalarAsync(ct) is not null)
        {
            return;
        }
        // CREATE DATABASE takes no parameters; the name is quoted as an identifier.
        var quoted = new NpgsqlCommandBuilder().QuoteIdentifier(databaseName);
        await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted} OWNER {Name}", connection);
        await create.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The database and everything in it belong to the application's role, and nobody else may connect. A database
    /// made by an earlier version (owned by the superuser, which the application used to sign in as) is handed over.
    /// </summary>
    private static async Task HandOverAsync(string serverConnectionString, string databaseName, CancellationToken ct)
    {
        var quoted = new NpgsqlCommandBuilder().QuoteIdentifier(databaseName);
        await using (var server = DatabaseModeExtensions.OpenAdminConnection(serverConnectionString))
        {
            await server.OpenAsync(ct);
            await using var owner = new NpgsqlCommand($"ALTER DATABASE {quoted} OWNER TO {Name}; REVOKE ALL ON DATABASE {quoted} FROM PUBLIC", server);
            await owner.ExecuteNonQueryAsync(ct);
        }
        await using var database = new NpgsqlConnection($"{serverConnectionString};Database={databaseName};Pooling=false");
        await database.OpenAsync(ct);
        // Tables first: their identity sequences and indexes follow them (and cannot be handed over on their own).
        await using var objects = new NpgsqlCommand($"""
            DO $$
            DECLARE item record;
            BEGIN
                FOR item IN
                    SELECT format('ALTER %s %s OWNER TO {Name}',
                                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                                  c.oid::regclass) AS statement
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND pg_get_userbyid(c.relowner) <> '{Name}'
                LOOP
                    EXECUTE item.statement;
                END LOOP;
                FOR item IN
                    SELECT format('ALTER SEQUENCE %s OWNER TO {Name}', c.oid::regclass) AS statement
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) <> '{Name}'
                    UNION ALL
                    SELECT format('ALTER FUNCTION %s OWNER TO {Name}', p.oid::regprocedure)
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{Name}'
                LOOP
                    EXECUTE item.statement;
                END LOOP;
            END $$;
            """, database);
        await objects.ExecuteNonQueryAsync(ct);
    }
}
