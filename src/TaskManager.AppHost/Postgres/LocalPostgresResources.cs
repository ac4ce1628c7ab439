namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A PostgreSQL server run from the machine's own server binaries, for machines without a container runtime.
/// Its connection string has the same shape as Aspire's container resource, so consumers cannot tell them apart.
/// </summary>
public sealed class LocalPostgresServerResource(
    string name, string command, string workingDirectory, ParameterResource password, ParameterResource applicationPassword)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";

    /// <summary>The role the application connects as: it owns its databases, and is no superuser.</summary>
    public const string ApplicationRole = "taskmanager";

    public ParameterResource PasswordParameter { get; } = password;

    public ParameterResource ApplicationPasswordParameter { get; } = applicationPassword;

    public EndpointReference PrimaryEndpoint => field ??= new(this, PrimaryEndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username=postgres;Password={PasswordParameter}");

    internal List<LocalPostgresDatabaseResource> Databases { get; } = [];
}

/// <summary>
/// A database on a <see cref="LocalPostgresServerResource"/>, created when the server is ready, owned by the
/// application's role; its connection string signs in as that role (least privilege: no superuser).
/// </summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    public LocalPostgresServerResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={Parent.PrimaryEndpoint.Property(EndpointProperty.Host)};Port={Parent.PrimaryEndpoint.Property(EndpointProperty.Port)};Username={LocalPostgresServerResource.ApplicationRole};Password={Parent.ApplicationPasswordParameter};Database={DatabaseName}");
}
