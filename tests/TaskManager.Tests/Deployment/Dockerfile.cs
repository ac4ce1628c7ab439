using System.Text.Json;
using System.Text.RegularExpressions;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Deployment;

/// <summary>One Dockerfile instruction: <c>COPY a b</c> is ("COPY", "a b").</summary>
public sealed record Instruction(string Keyword, string Arguments)
{
    /// <summary>The arguments of an exec-form instruction (<c>["dotnet", "x.dll"]</c>), or null for shell form.</summary>
    public string[]? ExecForm(string after = "") =>
        Arguments[after.Length..].TrimStart() is ['[', ..] json ? JsonSerializer.Deserialize<string[]>(json) : null;

    public string[] Words => Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>A build stage: its base image (global ARG defaults filled in), its name and its instructions.</summary>
public sealed record Stage(string BaseImage, string? Name, IReadOnlyList<Instruction> Instructions)
{
    public IEnumerable<Instruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);
}

/// <summary>A Dockerfile read the way the builder reads it: comments dropped, continued lines joined, split in stages.</summary>
public sealed partial class Dockerfile
{
    public Dockerfile(string project)
    {
        Project = project;
        FilePath = Path.Combine(TestHelpers.RepositoryRoot(), "src", project, "Dockerfile");
        var instructions = Parse(File.ReadAllText(FilePath));

        var globalArgs = instructions.TakeWhile(i => i.Keyword != "FROM").Where(i => i.Keyword == "ARG")
            .Select(i => i.Arguments.Split('=', 2)).Where(a => a.Length == 2).ToDictionary(a => a[0], a => a[1]);
        var stages = new List<Stage>();
        foreach (var instruction in instructions.SkipWhile(i => i.Keyword != "FROM"))
        {
            if (instruction.Keyword == "FROM")
            {
                var words = instruction.Words;
                var image = ArgReference().Replace(words[0], m => globalArgs.GetValueOrDefault(m.Groups[1].Value, m.Value));
                stages.Add(new Stage(image, words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null, new List<Instruction>()));
            }
            else
            {
                ((List<Instruction>)stages[^1].Instructions).Add(instruction);
            }
        }
        Stages = stages;
    }

    public string Project { get; }

    public string FilePath { get; }

    public IReadOnlyList<Stage> Stages { get; }

    /// <summary>The image a plain <c>docker build</c> produces.</summary>
    public Stage Final => Stages[^1];

    private static List<Instruction> Parse(string text)
    {
        var instructions = new List<Instruction>();
        var current = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#'))
            {
                continue;
            }
            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }
            current += line;
            if (current.Trim().Length > 0)
            {
                var parts = current.Trim().Split(' ', 2);
                instructions.Add(new Instruction(parts[0].ToUpperInvariant(), parts.Length > 1 ? parts[1].Trim() : ""));
            }
            current = "";
        }
        return instructions;
    }

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex ArgReference();
}
