using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>The api and mcp images, read from their Dockerfiles (a real build needs an engine; see the image tests).</summary>
public sealed class DockerfileTests
{
    public static TheoryData<string> Projects => ["TaskManager.Api", "TaskManager.Mcp"];

    private static readonly string[] RestoreInputs = [".csproj", ".props", "global.json", "nuget.config", "package.json", "package-lock.json"];

    [Theory, MemberData(nameof(Projects))]
    public void Image_runs_a_native_binary_as_a_non_root_user_on_a_chiseled_base_without_the_runtime(string project)
    {
        var dockerfile = new Dockerfile(project);
        var final = dockerfile.Final;

        Assert.StartsWith("mcr.microsoft.com/dotnet/runtime-deps:", final.BaseImage);
        Assert.EndsWith("-chiseled", final.BaseImage);
        var user = Assert.Single(final.All("USER")).Arguments;
        // APP_UID is the base image's user `app` (1654).
        Assert.Contains(user, new[] { "$APP_UID", "${APP_UID}", "1654", "app" });
        var publish = Assert.Single(dockerfile.Stages.SelectMany(s => s.All("RUN")), r => r.Arguments.StartsWith("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("-r linux-x64", publish.Arguments);
        Assert.DoesNotContain("PublishAot=false", publish.Arguments);
        var csproj = System.Xml.Linq.XDocument.Load(Path.Combine(TestHelpers.RepositoryRoot(), "src", project, $"{project}.csproj"));
        Assert.Equal("true", csproj.Descendants("PublishAot").Single().Value);
    }

    [Theory, MemberData(nameof(Projects))]
    public void Health_check_runs_the_app_itself_without_a_shell(string project)
    {
        var final = new Dockerfile(project).Final;

        var healthCheck = Assert.Single(final.All("HEALTHCHECK"));
        var command = healthCheck.ExecForm(after: healthCheck.Arguments[..healthCheck.Arguments.IndexOf("CMD", StringComparison.Ordinal)] + "CMD")
            ?? throw new Xunit.Sdk.XunitException($"{project}'s HEALTHCHECK is in shell form: a chiseled image has no shell.");
        Assert.Equal([$"/app/{project}", "--health-probe"], command);
        Assert.Equal([$"/app/{project}"], Assert.Single(final.All("ENTRYPOINT")).ExecForm() ?? []);
        Assert.Equal("/app", Assert.Single(final.All("WORKDIR")).Arguments);
    }

    [Theory, MemberData(nameof(Projects))]
    public void Image_exposes_only_the_port_the_manifest_routes_to(string project)
    {
        var final = new Dockerfile(project).Final;
        var resource = project.Split('.')[^1].ToLowerInvariant();
        var port = AspireManifest.Load().TargetPort(resource, "http").ToString();

        Assert.Equal(port, Assert.Single(Assert.Single(final.All("EXPOSE")).Words));
        Assert.Contains($"ASPNETCORE_HTTP_PORTS={port}", final.All("ENV").Select(e => e.Arguments));
    }

    [Theory, MemberData(nameof(Projects))]
    public void Packages_are_restored_before_the_sources_are_copied(string project)
    {
        var dockerfile = new Dockerfile(project);
        var restoreStage = Assert.Single(dockerfile.Stages, s => s.All("RUN").Any(r => r.Arguments.StartsWith("dotnet restore", StringComparison.Ordinal)));
        var beforeRestore = restoreStage.Instructions.TakeWhile(i => !(i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet restore", StringComparison.Ordinal)));

        foreach (var copy in beforeRestore.Where(i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal)))
        {
            var sources = copy.Words[..^1];
            Assert.All(sources, source => Assert.True(RestoreInputs.Any(source.EndsWith),
                $"{project}'s Dockerfile copies {source} before `dotnet restore`: every source change would repeat the restore."));
        }
        var publish = Assert.Single(dockerfile.Stages.SelectMany(s => s.All("RUN")), r => r.Arguments.StartsWith("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("--no-restore", publish.Arguments);
        Assert.Contains("-c Release", publish.Arguments);
        Assert.Contains(dockerfile.Stages.SelectMany(s => s.All("COPY")), c => c.Arguments.StartsWith($"src/{project}/ ", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Projects))]
    public void Image_carries_the_OCI_source_version_and_revision_labels(string project)
    {
        var final = new Dockerfile(project).Final;
        var labels = string.Join(" ", final.All("LABEL").Select(l => l.Arguments));
        var args = final.All("ARG").Select(a => a.Arguments.Split('=')[0]).ToHashSet();

        foreach (var (label, arg) in new[] { ("source", "SOURCE"), ("version", "VERSION"), ("revision", "REVISION") })
        {
            Assert.Contains($"org.opencontainers.image.{label}=\"${{{arg}}}\"", labels);
            Assert.Contains(arg, args);
        }
    }

    [Theory, MemberData(nameof(Projects))]
    public void Sdk_container_settings_build_the_same_image(string project)
    {
        var final = new Dockerfile(project).Final;
        var resource = project.Split('.')[^1].ToLowerInvariant();
        var manifest = AspireManifest.Load();

        Assert.Equal(final.BaseImage, manifest.ProjectProperty(resource, "ContainerBaseImage"));
        Assert.Equal("1654", manifest.ProjectProperty(resource, "ContainerUser"));
        var csproj = System.Xml.Linq.XDocument.Load(Path.Combine(TestHelpers.RepositoryRoot(), manifest.ProjectPath(resource)));
        Assert.Equal([manifest.TargetPort(resource, "http").ToString()], csproj.Descendants("ContainerPort").Select(p => p.Attribute("Include")?.Value));
    }

    [Fact]
    public void Dockerignore_keeps_build_outputs_and_local_secrets_out_of_the_build_context()
    {
        var ignored = File.ReadAllLines(Path.Combine(TestHelpers.RepositoryRoot(), ".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();

        foreach (var entry in new[] { "**/bin/", "**/obj/", "**/node_modules/", "**/TestResults/", "src/TaskManager.Api/wwwroot/lib/", ".git/", ".local/" })
        {
            Assert.Contains(entry, ignored);
        }
    }
}
