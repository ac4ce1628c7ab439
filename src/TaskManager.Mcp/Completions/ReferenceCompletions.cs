using System.Text.RegularExpressions;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using TaskManager.Mcp.ApiClient;
using TaskManager.Mcp.Tools;

namespace TaskManager.Mcp.Completions;

/// <summary>
/// <c>completion/complete</c> for the prompt and resource arguments that name a project (<c>project</c>, <c>key</c>) or a
/// task (<c>task</c>, <c>ref</c>): the values come from the api, read with the caller's own token, so a caller is only
/// offered what it may read. Any other argument gets no suggestions.
/// </summary>
public static partial class ReferenceCompletions
{
    private const int MaxValues = 100;

    /// <summary>
    /// The api has no prefix search (its <c>q</c> matches whole words): keys and refs are matched here, over at most this
    /// many pages of 200, pinned projects first, then by key.
    /// </summary>
    private const int MaxPages = 5;

    public static IMcpServerBuilder WithReferenceCompletions(this IMcpServerBuilder builder) =>
        builder.WithCompleteHandler(async (request, ct) =>
        {
            var argument = request.Params?.Argument;
            var api = request.Services?.GetRequiredService<TaskApiClient>();
            if (argument is null || api is null || request.Params?.Ref is not (PromptReference or ResourceTemplateReference))
            {
                return Complete([]);
            }
            var typed = argument.Value ?? "";
            try
            {
                return Complete(argument.Name switch
                {
                    "project" or "key" => await ProjectKeysAsync(api, typed, ct),
                    "task" or "ref" => await TaskRefsAsync(api, typed, ct),
                    _ => [],
                });
            }
            catch (Exception e) when (e is ApiProblemException || ApiCalls.IsUnreachable(e))
            {
                // Suggestions are a convenience: when the api refuses or is away, there are none.
                return Complete([]);
            }
        });

    private static async Task<List<string>> ProjectKeysAsync(TaskApiClient api, string prefix, CancellationToken ct)
    {
        var keys = new List<string>();
        string? cursor = null;
        for (var page = 0; page < MaxPages && keys.Count <= MaxValues; page++)
        {
            var found = await api.FindProjectsAsync(new ApiQuery().With("limit", 200).With("cursor", cursor), ct);
            keys.AddRange(found.Items.Select(p => p.Key).Where(k => k.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)));
            if ((cursor = found.NextCursor) is null)
            {
                break;
            }
        }
        return keys;
    }

    /// <summary>
    /// <c>WEB-4</c>: the refs of project WEB's tasks that start so, in number order. Anything else: the project keys that
    /// start with it, as the start of a ref (<c>WEB-</c>).
    /// </summary>
    private static async Task<List<string>> TaskRefsAsync(TaskApiClient api, string prefix, CancellationToken ct)
    {
        if (RefPrefix().Match(prefix) is not { Success: true } match)
        {
            return [.. (await ProjectKeysAsync(api, prefix, ct)).Select(key => key + "-")];
        }
        var refs = new List<TaskSummary>();
        string? cursor = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var found = await api.FindTasksAsync(new ApiQuery().With("project", match.Groups["key"].Value).With("limit", 200).With("cursor", cursor), ct);
            refs.AddRange(found.Items.Where(t => t.Ref.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)));
            if ((cursor = found.NextCursor) is null)
            {
                break;
            }
        }
        return [.. refs.OrderBy(t => t.Ref.Length).ThenBy(t => t.Ref, StringComparer.Ordinal).Select(t => t.Ref)];
    }

    private static CompleteResult Complete(List<string> values) => new()
    {
        Completion = new Completion { Values = [.. values.Take(MaxValues)], Total = values.Count, HasMore = values.Count > MaxValues },
    };

    [GeneratedRegex("^(?<key>[A-Za-z]{2,10})-[0-9]*$")]
    private static partial Regex RefPrefix();
}
