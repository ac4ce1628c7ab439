using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>
/// <c>deploy/compose/compose.yaml</c> as a real Compose implementation reads it: <c>docker-compose config</c> (Debian's
/// docker-compose 1.29 needs no Docker engine for it) validates the file, fills in the variables and prints the
/// result, which is then read as JSON.
/// </summary>
public static class ComposeFile
{
    public const string InstallHint =
        "docker-compose is not installed. Install it with: apt-get install -y docker-compose " +
        "(Debian's docker-compose validates compose files without a Docker engine).";

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(1);
    private static readonly Lazy<Task<Filled>> WithEveryValue = new(LoadWithEveryValueAsync);

    public static string Folder => Path.Combine(TestHelpers.RepositoryRoot(), "deploy", "compose");

    public static string FilePath => Path.Combine(Folder, "compose.yaml");

    public static string EnvExample => Path.Combine(Folder, ".env.example");

    /// <summary>The compose file with every key of <c>.env.example</c> given a value of its own (<see cref="Filled.Values"/>).</summary>
    public static Task<Filled> WithEveryValueAsync() => WithEveryValue.Value.Timeout();

    /// <summary>Runs <c>docker-compose config</c> with <paramref name="envFile"/>; its output is the resolved file.</summary>
    public static async Task<ProcessResult> ConfigAsync(string envFile)
    {
        var compose = FindOnPath("docker-compose") ?? throw new Xunit.Sdk.XunitException(InstallHint);
        var start = new ProcessStartInfo(compose, ["-f", FilePath, "--env-file", envFile, "config"]) { WorkingDirectory = Folder };
        // The process environment beats .env in Compose: a developer's own settings must not leak into the test.
        foreach (var name in start.Environment.Keys.Where(IsComposeSetting).ToList())
        {
            start.Environment.Remove(name);
        }
        return await ChildProcess.RunAsync(start, RunTimeout);
    }

    /// <summary>The keys of an env file, in order (comments and blank lines skipped).</summary>
    public static IReadOnlyList<string> EnvKeys(string envFile) =>
        [.. File.ReadAllLines(envFile)
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line[..line.IndexOf('=')])];

    private static bool IsComposeSetting(string name) =>
        name.StartsWith("TASKMANAGER_", StringComparison.Ordinal) || name.StartsWith("POSTGRES_", StringComparison.Ordinal)
        || name.StartsWith("COMPOSE_", StringComparison.Ordinal) || name.StartsWith("DOCKER_", StringComparison.Ordinal);

    private static async Task<Filled> LoadWithEveryValueAsync()
    {
        var work = System.IO.Directory.CreateTempSubdirectory("compose-test-");
        try
        {
            var values = EnvKeys(EnvExample).ToDictionary(key => key, key => $"value-of-{key.ToLowerInvariant()}-0123456789");
            var envFile = Path.Combine(work.FullName, ".env");
            await File.WriteAllLinesAsync(envFile, values.Select(v => $"{v.Key}={v.Value}"), TestHelpers.Ct);

            var run = await ConfigAsync(envFile);
            JsonObject? json = null;
            if (run.ExitCode == 0)
            {
                var yamlFile = Path.Combine(work.FullName, "config.yaml");
                await File.WriteAllTextAsync(yamlFile, run.Output, TestHelpers.Ct);
                json = await YamlToJsonAsync(yamlFile);
            }
            return new Filled(run, values, json);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Reads YAML with the Python interpreter and YAML library docker-compose itself runs on (its script's #! line), so
    /// the test needs nothing docker-compose does not bring.
    /// </summary>
    private static async Task<JsonObject> YamlToJsonAsync(string yamlFile)
    {
        var compose = FindOnPath("docker-compose")!;
        var firstLine = File.ReadLines(compose).FirstOrDefault() ?? "";
        var python = firstLine.StartsWith("#!", StringComparison.Ordinal) && firstLine.Contains("python", StringComparison.Ordinal)
            ? firstLine[2..].Trim().Split(' ')[0]
            : "python3";
        var start = new ProcessStartInfo(python, ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", yamlFile]);
        ProcessResult run;
        try
        {
            run = await ChildProcess.RunAsync(start, RunTimeout);
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{python} (with PyYAML) is needed to read docker-compose's output.", e);
        }
        Assert.True(run.ExitCode == 0, $"Reading docker-compose's output as YAML failed: {run.Errors}");
        return JsonNode.Parse(run.Output)!.AsObject();
    }

    private static string? FindOnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, command))
            .FirstOrDefault(File.Exists);

    /// <summary>What <c>docker-compose config</c> made of the file with <see cref="Values"/> as its <c>.env</c>.</summary>
    public sealed record Filled(ProcessResult Run, IReadOnlyDictionary<string, string> Values, JsonObject? Config)
    {
        public JsonObject Services =>
            (Config ?? throw new Xunit.Sdk.XunitException($"docker-compose config failed:{System.Environment.NewLine}{Run.Errors}{Run.Output}"))
            ["services"]!.AsObject();

        public JsonObject Service(string name) =>
            Services[name]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"compose.yaml has no service '{name}'.");

        public IReadOnlyDictionary<string, string> Environment(string service) =>
            Service(service)["environment"]?.AsObject().ToDictionary(e => e.Key, e => e.Value?.ToString() ?? "") ?? [];

        /// <summary>Container ports a service publishes, in either syntax docker-compose prints (short or long).</summary>
        public IReadOnlyList<int> PublishedTargetPorts(string service) =>
            [.. (Service(service)["ports"]?.AsArray() ?? []).Select(port => port switch
            {
                JsonObject longForm => int.Parse(longForm["target"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture),
                _ => int.Parse(port!.ToString().Split('/')[0].Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture),
            })];
    }
}
