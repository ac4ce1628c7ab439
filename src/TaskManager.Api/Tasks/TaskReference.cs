using System.Text.RegularExpressions;

namespace TaskManager.Api.Tasks;

/// <summary>A task is referred to by its id or by its human reference <c>KEY-n</c> (e.g. <c>WEB-42</c>).</summary>
public readonly partial record struct TaskReference(Guid? Id, string? ProjectKey, int Number)
{
    public static bool TryParse(string? text, out TaskReference reference)
    {
        reference = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        if (Guid.TryParse(text, out var id))
        {
            reference = new(id, null, 0);
            return true;
        }
        var match = HumanReference().Match(text.Trim());
        if (match.Success && int.TryParse(match.Groups[2].Value, out var number) && number > 0)
        {
            reference = new(null, match.Groups[1].Value.ToUpperInvariant(), number);
            return true;
        }
        return false;
    }

    public static string Describe(string text) =>
        $"'{text}' is not a task reference: use the task's id or its KEY-number reference, e.g. WEB-42.";

    [GeneratedRegex("^([A-Za-z]{2,10})-([0-9]{1,9})$")]
    private static partial Regex HumanReference();
}
