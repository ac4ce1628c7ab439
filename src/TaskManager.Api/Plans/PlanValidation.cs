using System.Text.RegularExpressions;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Plans;

/// <summary>
/// Checks a plan as a whole before anything is written, naming each problem by its path in the request
/// (<c>tasks[0].subtasks[1].blockedBy[0]</c>): the fields of each task (the same rules as a single create), its name,
/// its blocked-by entries (a name in the plan or an existing task) and that the plan's own edges make no cycle.
/// </summary>
internal static partial class PlanValidation
{
    public const int MaxTasks = 200;
    public const int MaxDepth = 5;
    public const int MaxNameLength = 64;
    public const int MaxBlockedBy = 50;

    private sealed record Node(PlanTaskRequest Task, string Path, int? Parent);

    /// <summary>The plan's tasks in plan order (each parent before its subtasks), or null when it is wrong: then every problem is in <paramref name="validation"/>.</summary>
    public static async Task<PlannedTask[]?> ValidateAsync(PlanTaskRequest?[]? tasks, PlanStore store, Validation validation, CancellationToken ct)
    {
        if (tasks is not { Length: > 0 })
        {
            validation.Add("tasks", "tasks is required: at least one task, each with a name and a title.");
            return null;
        }
        var nodes = new List<Node>();
        Flatten(tasks, "tasks", null, 1, nodes, validation);
        if (nodes.Count > MaxTasks)
        {
            // One error, not one per task: the problem stays smaller than the request.
            validation.Add("tasks", $"A plan has at most {MaxTasks} tasks, subtasks included (got {nodes.Count}). Split it into several plans.");
            return null;
        }

        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < nodes.Count; i++)
        {
            if (ValidName(nodes[i], validation) is { } name && !names.TryAdd(name, i))
            {
                validation.Add($"{nodes[i].Path}.name", $"'{name}' is already the name of {nodes[names[name]].Path}; names are unique in a plan (ignoring case).");
            }
        }

        var ids = nodes.Select(_ => Guid.CreateVersion7()).ToArray();
        var planned = new PlannedTask?[nodes.Count];
        var edges = nodes.Select(_ => new List<(int Blocker, string Path)>()).ToArray();
        var existing = new List<(int Task, TaskReference Blocker, string Path, string Text)>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var (task, path, parent) = nodes[i];
            var at = validation.At(path);
            var title = ProjectsApi.ValidateTitle(task.Title, at);
            ProjectsApi.ValidateDescription(task.Description, at);
            var assignee = TasksApi.ValidateAssignee(task.Assignee, at);
            var labels = TasksApi.ValidateLabels(task.Labels, at);
            var values = new TaskChanges(title, task.Description ?? "", TaskState.Todo, task.Priority ?? TaskPriority.Medium, assignee, labels,
                task.DueDate, parent is { } p ? ids[p] : null);
            planned[i] = new PlannedTask(ids[i], task.Name?.Trim() ?? "", values, []);

            var blockedBy = task.BlockedBy ?? [];
            if (blockedBy.Length > MaxBlockedBy)
            {
                at.Add("blockedBy", $"A task of a plan is blocked by at most {MaxBlockedBy} tasks (got {blockedBy.Length}).");
                continue;
            }
            for (var k = 0; k < blockedBy.Length; k++)
            {
                var entryPath = $"{path}.blockedBy[{k}]";
                var entry = blockedBy[k]?.Trim();
                if (string.IsNullOrEmpty(entry))
                {
                    validation.Add(entryPath, "A blocked-by entry is the name of a task in this plan or an existing task's ref (e.g. WEB-42).");
                }
                else if (names.TryGetValue(entry, out var blocker))
                {
                    if (blocker == i)
                    {
                        validation.Add(entryPath, "A task cannot block itself.");
                    }
                    else
                    {
                        edges[i].Add((blocker, entryPath));
                    }
                }
                else if (TaskReference.TryParse(entry, out var reference))
                {
                    existing.Add((i, reference, entryPath, entry));
                }
                else
                {
                    validation.Add(entryPath, $"'{entry}' is neither the name of a task in this plan nor a task reference (e.g. WEB-42).");
                }
            }
        }
        ReportCycles(nodes, edges, validation);

        var found = await store.FindTasksAsync([.. existing.Select(e => e.Blocker).Distinct()], ct);
        var blockers = edges.Select(e => e.Select(edge => ids[edge.Blocker]).ToList()).ToArray();
        foreach (var (task, reference, path, text) in existing)
        {
            if (found.TryGetValue(reference, out var id))
            {
                blockers[task].Add(id);
            }
            else
            {
                validation.Add(path, $"Task '{text}' does not exist.");
            }
        }
        return validation.IsValid
            ? [.. planned.Select((t, i) => t! with { BlockedBy = [.. blockers[i].Distinct()] })]
            : null;
    }

    /// <summary>Every task of the tree in plan order (depth first, each parent before its subtasks), with its path.</summary>
    private static void Flatten(PlanTaskRequest?[] tasks, string path, int? parent, int depth, List<Node> nodes, Validation validation)
    {
        for (var i = 0; i < tasks.Length; i++)
        {
            var itemPath = $"{path}[{i}]";
            if (tasks[i] is not { } task)
            {
                validation.Add(itemPath, "A task of a plan is an object with at least a name and a title.");
                continue;
            }
            nodes.Add(new Node(task, itemPath, parent));
            if (nodes.Count > MaxTasks)
            {
                return;
            }
            if (task.Subtasks is not { Length: > 0 } subtasks)
            {
                continue;
            }
            if (depth == MaxDepth)
            {
                validation.Add($"{itemPath}.subtasks", $"A plan is at most {MaxDepth} levels deep (tasks, their subtasks, and so on).");
                continue;
            }
            Flatten(subtasks, $"{itemPath}.subtasks", nodes.Count - 1, depth + 1, nodes, validation);
        }
    }

    private static string? ValidName(Node node, Validation validation)
    {
        var name = node.Task.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            validation.Add($"{node.Path}.name", "name is required: the plan's own name for the task, which blockedBy entries use (e.g. api-tests).");
            return null;
        }
        if (name.Length > MaxNameLength || !NamePattern().IsMatch(name))
        {
            validation.Add($"{node.Path}.name", $"name must be 1 to {MaxNameLength} letters, digits, '-', '_' or '.', starting with a letter or digit.");
            return null;
        }
        if (TaskReference.TryParse(name, out _))
        {
            validation.Add($"{node.Path}.name", $"'{name}' looks like a task reference; a name must not, so that blockedBy entries mean one thing.");
            return null;
        }
        return name;
    }

    /// <summary>
    /// A blocked-by cycle among the plan's tasks would block each of them for ever: each one found is named at the entry
    /// that closes it. Edges to existing tasks cannot close one (no existing task waits for a new one).
    /// </summary>
    private static void ReportCycles(List<Node> nodes, List<(int Blocker, string Path)>[] edges, Validation validation)
    {
        var state = new byte[nodes.Count]; // 0 unvisited, 1 on the current path, 2 finished
        var path = new List<int>();
        for (var start = 0; start < nodes.Count; start++)
        {
            Visit(start);
        }

        void Visit(int task)
        {
            if (state[task] != 0)
            {
                return;
            }
            state[task] = 1;
            path.Add(task);
            foreach (var (blocker, entryPath) in edges[task])
            {
                if (state[blocker] == 1)
                {
                    var cycle = path[path.IndexOf(blocker)..].Append(blocker).Select(i => nodes[i].Task.Name?.Trim());
                    validation.Add(entryPath, $"This makes a blocked-by cycle: {string.Join(" -> ", cycle)} (each waits for the next).");
                }
                Visit(blocker);
            }
            path.RemoveAt(path.Count - 1);
            state[task] = 2;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex NamePattern();
}
