using System.Text.RegularExpressions;
using ModelContextProtocol;

namespace TaskManager.Mcp.Tools;

/// <summary>Checks of tool arguments that the schema cannot express; each failure names the argument.</summary>
public static partial class ToolInput
{
    public const int MaxClientKeyLength = 200;

    /// <summary>A task's ref (KEY-n) or id.</summary>
    public static string Task(string? value, string field, string action) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new McpException($"{action} needs {field}: a task ref (e.g. WEB-42) or id.")
            : TaskReference().IsMatch(value.Trim()) || Guid.TryParse(value, out _)
                ? value.Trim()
                : throw new McpException($"{field} '{value}' is not a task ref (e.g. WEB-42) or id.");

    /// <summary>A project's key or id.</summary>
    public static string Project(string? value, string field, string action) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new McpException($"{action} needs {field}: a project key (e.g. WEB) or id.")
            : ProjectKey().IsMatch(value.Trim()) || Guid.TryParse(value, out _)
                ? value.Trim()
                : throw new McpException($"{field} '{value}' is not a project key (e.g. WEB) or id.");

    /// <summary>
    /// The caller's idempotency key, or a new one. It travels as a header, so it must be printable ASCII.
    /// </summary>
    public static string ClientKey(string? clientKey)
    {
        if (clientKey is null)
        {
            return Guid.NewGuid().ToString("N");
        }
        return clientKey.Length is > 0 and <= MaxClientKeyLength && clientKey.All(c => c is >= ' ' and <= '~')
            ? clientKey
            : throw new McpException($"clientKey must be 1 to {MaxClientKeyLength} printable ASCII characters.");
    }

    /// <summary>An optional argument: absent is fine, present but blank is an error (it would otherwise mean "any").</summary>
    public static string? Optional(string? value, string field) =>
        value is not null && string.IsNullOrWhiteSpace(value)
            ? throw new McpException($"{field} is blank: give a value or leave it out.")
            : value?.Trim();

    /// <summary>Refuses arguments that mean nothing for the chosen action, rather than ignoring them.</summary>
    public static void OnlyFor(string action, params (string Name, object? Value, bool Applies)[] arguments)
    {
        var stray = arguments.Where(a => a.Value is not null && !a.Applies).Select(a => a.Name).ToArray();
        if (stray.Length > 0)
        {
            throw new McpException($"{string.Join(", ", stray)}: not used by action={action}; leave {(stray.Length == 1 ? "it" : "them")} out.");
        }
    }

    [GeneratedRegex("^[A-Za-z]{2,10}-[0-9]{1,9}$")]
    private static partial Regex TaskReference();

    [GeneratedRegex("^[A-Za-z]{2,10}$")]
    private static partial Regex ProjectKey();
}
