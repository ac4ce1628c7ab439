using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>The committed <c>aspire-manifest.json</c> (kept equal to the AppHost's output by ManifestTests).</summary>
public sealed partial class AspireManifest
{
    private readonly JsonObject _resources;

    private AspireManifest(JsonObject resources) => _resources = resources;

    public static AspireManifest Load() =>
        new(JsonNode.Parse(File.ReadAllText(Path.Combine(TestHelpers.RepositoryRoot(), "aspire-manifest.json")))!["resources"]!.AsObject());

    /// <summary>Resources that run: projects and containers (not parameters, values or connection strings).</summary>
    public IReadOnlyList<string> RunnableResources =>
        [.. _resources.Where(r => r.Value?["type"]?.ToString() is "project.v0" or "container.v0" or "dockerfile.v0").Select(r => r.Key)];

    public IReadOnlyList<string> Projects =>
        [.. _resources.Where(r => r.Value?["type"]?.ToString() == "project.v0").Select(r => r.Key)];

    public JsonObject Resource(string name) =>
        _resources[name]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"aspire-manifest.json has no resource '{name}'.");

    public IReadOnlyDictionary<string, string> Environment(string resource) =>
        Resource(resource)["env"]?.AsObject().ToDictionary(e => e.Key, e => e.Value?.ToString() ?? "") ?? [];

    public int? TargetPort(string resource, string binding) =>
        Resource(resource)["bindings"]?[binding]?["targetPort"]?.GetValue<int>();

    public string? Image(string resource) => Resource(resource)["image"]?.ToString();

    /// <summary>The project file of a project resource, relative to the repository root.</summary>
    public string ProjectPath(string resource) => Resource(resource)["path"]!.ToString();

    /// <summary>A property of the project's csproj (the SDK container settings live there).</summary>
    public string? ProjectProperty(string resource, string property) =>
        XDocument.Load(Path.Combine(TestHelpers.RepositoryRoot(), ProjectPath(resource)))
            .Descendants(property).Select(e => e.Value.Trim()).FirstOrDefault();

    /// <summary>True when the value is exactly a secret parameter's value, e.g. <c>{admin-token.value}</c>.</summary>
    public bool IsSecretParameter(string value) =>
        ParameterReference().Match(value) is { Success: true } match
        && Resource(match.Groups[1].Value) is var parameter
        && parameter["type"]?.ToString() == "parameter.v0"
        && parameter["inputs"]?["value"]?["secret"]?.GetValue<bool>() == true;

    [GeneratedRegex(@"^\{([a-z0-9-]+)\.value\}$")]
    private static partial Regex ParameterReference();
}
