using System.Text.RegularExpressions;
using ModelContextProtocol;

namespace TaskManager.Mcp.Tools;

/// <summary>An argument that the schema could not refuse but is wrong: the message names it. A tool error for tools.</summary>
public sealed class InvalidToolInputException(string message) : McpException(message);

/// <summary>Checks of tool arguments that the schema cannot express; each failure names the argument.</summary>
public static partial class ToolInput
{
    public const int MaxRequestIdLength = 200;

    /// <summary>A task's ref (KEY-n) or id.</summary>
    public static string Task(string? value, string field, string action) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new InvalidToolInputException($"{action} needs {field}: a task ref (e.g. WEB-42) or id.")
            : TaskReference().IsMatch(value.Trim()) || Guid.TryParse(value, out _)
                ? value.Trim()
                : throw new InvalidToolInputException($"{field} '{value}' is not a task ref (e.g. WEB-42) or id.");

    /// <summary>A project's key or id.</summary>
    public static string Project(string? value, string field, string action) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new InvalidToolInputException($"{action} needs {field}: a project key (e.g. WEB) or id.")
            : ProjectKey().IsMatch(value.Trim()) || Guid.TryParse(value, out _)
                ? value.Trim()
                : throw new InvalidToolInputException($"{field} '{value}' is not a project key (e.g. WEB) or id.");

    /// <summary>
    /// The caller's request id, or a new one: the api's Idempotency-Key of the write, so that neither the agent's retry
    /// nor our resilience handler's applies it twice. It travels as a header, so it must be printable ASCII.
    /// </summary>
    public static string RequestId(string? requestId)
    {
        if (requestId is null)
        {
            return Guid.NewGuid().ToString("N");
        }
        return requestId.Length is > 0 and <= MaxRequestIdLength && requestId.All(c => c is >= ' ' and <= '~')
            ? requestId
            : throw new InvalidToolInputException($"requestId must be 1 to {MaxRequestIdLength} printable ASCII characters.");
    }

    /// <summary>The lease a write is made under (claim_next_task's lease.id), or none.</summary>
    public static Guid? LeaseId(string? leaseId) =>
        leaseId is null ? null
        : Guid.TryParse(leaseId, out var id) ? id
        : throw new InvalidToolInputException($"leaseId '{leaseId}' is not a lease id: pass lease.id from claim_next_task's answer.");

    public const string LeaseIdDescription = "Your claim's lease.id: refused once the lease is lost.";

    public const string RequestIdDescription =
        "Any unique id for this change (printable ASCII): a call repeated with the same requestId returns the first result " +
        "instead of applying the change twice. Pass one whenever you might retry.";

    /// <summary>An optional argument: absent is fine, present but blank is an error (it would otherwise mean "any").</summary>
    public static string? Optional(string? value, string field) =>
        value is not null && string.IsNullOrWhiteSpace(value)
            ? throw new InvalidToolInputException($"{field} is blank: give a value or leave it out.")
            : value?.Trim();

    /// <summary>Refuses arguments that mean nothing for the chosen action, rather than ignoring them.</summary>
    public static void OnlyFor(string action, params (string Name, object? Value, bool Applies)[] arguments)
    {
        var stray = arguments.Where(a => a.Value is not null && !a.Applies).Select(a => a.Name).ToArray();
        if (stray.Length > 0)
        {
            throw new InvalidToolInputException($"{string.Join(", ", stray)}: not used by action={action}; leave {(stray.Length == 1 ? "it" : "them")} out.");
        }
    }

    [GeneratedRegex("^[A-Za-z]{2,10}-[0-9]{1,9}$")]
    private static partial Regex TaskReference();

    [GeneratedRegex("^[A-Za-z]{2,10}$")]
    private static partial Regex ProjectKey();
}
