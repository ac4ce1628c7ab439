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

    public ParameterResource PasswordParameter { get; } = password;

    public ParameterResource ApplicationPasswordParameter { get; } = applicationPassword;

    public EndpointReference PrimaryEndpoint => field ??= new(this, PrimaryEndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username=postgres;Password={PasswordParameter}");

    internal List<ApplicationDatabaseResource> Databases { get; } = [];
}
