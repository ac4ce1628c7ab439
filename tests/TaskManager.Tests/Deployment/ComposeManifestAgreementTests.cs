using System.Data.Common;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// compose.yaml is written by hand from aspire-manifest.json (Aspire's compose publisher is not available to us):
/// these tests fail when the two drift apart on services, variable names, secrets, ports or images.
/// </summary>
public sealed class ComposeManifestAgreementTests
{
    /// <summary>Variables the manifest gives a service that compose leaves out on purpose, and why.</summary>
    private static readonly Dictionary<string, string> NotInCompose = new()
    {
        ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "compose runs no OpenTelemetry collector (add OTEL_EXPORTER_OTLP_ENDPOINT with one)",
        ["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = "compose publishes the services with no proxy in front: any client could spoof X-Forwarded-*",
        ["services__api__https__0"] = "inside the compose network the api serves plain http",
        ["API_HTTP"] = "Aspire's endpoint variable for non-.NET clients; the mcp reads services__api__http__0",
        ["API_HTTPS"] = "Aspire's endpoint variable for non-.NET clients; the api serves plain http in compose",
    };

    /// <summary>Variables only compose sets ("service/NAME"), and why the manifest has none.</summary>
    private static readonly Dictionary<string, string> OnlyInCompose = new()
    {
        ["mcp/AllowedHosts"] = "the host names clients use depend on where compose runs; Aspire's own hosting needs no change",
    };

    [Fact]
    public async Task Compose_runs_the_services_the_manifest_describes()
    {
        var compose = await ComposeFile.WithEveryValueAsync();

        Assert.Equal(AspireManifest.Load().RunnableResources.Order(), compose.Services.Select(s => s.Key).Order());
    }

    [Fact]
    public async Task Compose_sets_every_variable_the_manifest_gives_a_service_or_says_why_not()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var manifest = AspireManifest.Load();

        foreach (var service in manifest.RunnableResources)
        {
            var inManifest = manifest.Environment(service).Keys.ToHashSet();
            var inCompose = compose.Environment(service).Keys.ToHashSet();

            var missing = inManifest.Except(inCompose).Where(name => !NotInCompose.ContainsKey(name)).ToList();
            Assert.True(missing.Count == 0,
                $"aspire-manifest.json gives {service} {string.Join(", ", missing)}, which compose.yaml does not set. " +
                "Set them in compose.yaml, or say why not in NotInCompose.");

            var extra = inCompose.Except(inManifest).Where(name => !OnlyInCompose.ContainsKey($"{service}/{name}")).ToList();
            Assert.True(extra.Count == 0,
                $"compose.yaml gives {service} {string.Join(", ", extra)}, which aspire-manifest.json does not. " +
                "Add them to the AppHost, or say why not in OnlyInCompose.");

            var leftOut = inManifest.Intersect(inCompose).Where(NotInCompose.ContainsKey).ToList();
            Assert.True(leftOut.Count == 0, $"compose.yaml sets {string.Join(", ", leftOut)} for {service}: remove them from NotInCompose.");
        }
    }

    [Fact]
    public async Task Secrets_the_manifest_takes_as_parameters_come_from_env_in_compose()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var manifest = AspireManifest.Load();

        var secrets = manifest.RunnableResources
            .SelectMany(service => manifest.Environment(service)
                .Where(e => manifest.IsSecretParameter(e.Value) && !NotInCompose.ContainsKey(e.Key))
                .Select(e => (service, e.Key)))
            .ToList();
        Assert.Contains(("api", "Auth__AdminToken"), secrets);
        Assert.Contains(("postgres", "POSTGRES_PASSWORD"), secrets);
        foreach (var (service, name) in secrets)
        {
            Assert.True(compose.Values.Values.Contains(compose.Environment(service)[name]),
                $"compose.yaml does not take {service}'s {name} from .env.");
        }
    }

    [Fact]
    public async Task Compose_and_manifest_route_to_the_same_container_ports()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var manifest = AspireManifest.Load();

        foreach (var project in manifest.Projects)
        {
            var targetPort = manifest.TargetPort(project, "http")
                ?? throw new Xunit.Sdk.XunitException($"aspire-manifest.json gives {project} no http targetPort (see PublishWithContainerPort in AppHost.cs).");
            Assert.Equal([targetPort], compose.PublishedTargetPorts(project));
            Assert.Equal(targetPort.ToString(System.Globalization.CultureInfo.InvariantCulture), compose.Environment(project)["HTTP_PORTS"]);
            Assert.Equal($"{{{project}.bindings.http.targetPort}}", manifest.Environment(project)["HTTP_PORTS"]);
        }

        // The mcp finds the api by service discovery, at the api's container port.
        Assert.Equal("{api.bindings.http.url}", manifest.Environment("mcp")["services__api__http__0"]);
        Assert.Equal($"http://api:{manifest.TargetPort("api", "http")}", compose.Environment("mcp")["services__api__http__0"]);

        // The api reaches the database by its resource name, at its container port, in the database the manifest names,
        // as the role the manifest names (the application's, not the superuser).
        var connection = new DbConnectionStringBuilder { ConnectionString = compose.Environment("api")["ConnectionStrings__tasks"] };
        var inManifest = new DbConnectionStringBuilder { ConnectionString = manifest.Resource("tasks")["connectionString"]!.ToString() };
        Assert.Equal("postgres", connection["Host"]);
        Assert.Equal(manifest.TargetPort("postgres", "tcp")?.ToString(System.Globalization.CultureInfo.InvariantCulture), connection["Port"]);
        Assert.Equal(inManifest["Database"], connection["Database"]);
        Assert.Equal(inManifest["Username"], connection["Username"]);
        Assert.Equal("{tasks.connectionString}", manifest.Environment("api")["ConnectionStrings__tasks"]);
    }

    [Fact]
    public async Task Both_make_the_application_role_with_the_same_init_script_and_password()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var manifest = AspireManifest.Load();

        var mount = Assert.Single(manifest.Resource("postgres")["bindMounts"]!.AsArray())!;
        var target = mount["target"]!.ToString();
        var script = Path.GetFullPath(Path.Combine(TestHelpers.RepositoryRoot(), mount["source"]!.ToString()));
        // docker-compose 1.29 prints volumes in the short syntax, "source:target:mode", bind sources made absolute.
        Assert.Contains($"{script}:{target}:ro", compose.Service("postgres")["volumes"]!.AsArray().Select(v => v?.ToString()));

        // The script's password is the one the api signs in with.
        var inManifest = new DbConnectionStringBuilder { ConnectionString = manifest.Resource("tasks")["connectionString"]!.ToString() };
        Assert.Equal(manifest.Environment("postgres")["TASKMANAGER_DB_PASSWORD"], inManifest["Password"]);
        var inCompose = new DbConnectionStringBuilder { ConnectionString = compose.Environment("api")["ConnectionStrings__tasks"] };
        Assert.Equal(compose.Environment("postgres")["TASKMANAGER_DB_PASSWORD"], inCompose["Password"]);
    }

    [Fact]
    public async Task Compose_uses_the_manifest_images_and_the_projects_container_settings()
    {
        var compose = await ComposeFile.WithEveryValueAsync();
        var manifest = AspireManifest.Load();

        Assert.Equal(manifest.Image("postgres"), compose.Service("postgres")["image"]?.ToString());
        foreach (var project in manifest.Projects)
        {
            var service = compose.Service(project);
            var repository = manifest.ProjectProperty(project, "ContainerRepository");
            Assert.Equal($"taskmanager-{project}", repository);
            Assert.Equal(repository, service["image"]?.ToString().Split(':')[0]);

            // compose builds the Dockerfile beside the project the manifest names, from the repository root.
            var projectFolder = Path.GetDirectoryName(manifest.ProjectPath(project))!.Replace('\\', '/');
            Assert.Equal($"{projectFolder}/Dockerfile", service["build"]?["dockerfile"]?.ToString());
            Assert.Equal(Infrastructure.TestHelpers.RepositoryRoot(), Path.GetFullPath(service["build"]!["context"]!.ToString(), ComposeFile.Folder));
        }
    }
}
