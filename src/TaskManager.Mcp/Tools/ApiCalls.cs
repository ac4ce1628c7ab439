using System.Text.Json;
using ModelContextProtocol;
using Polly;
using TaskManager.Mcp.ApiClient;

namespace TaskManager.Mcp.Tools;

/// <summary>Runs api calls for tools and turns every failure into a tool error the model can read and act on.</summary>
public static class ApiCalls
{
    /// <param name="call">The api call.</param>
    /// <param name="ifUnsure">
    /// What to do when the api may or may not have applied a change (timeout, lost connection): for writes, how to
    /// find out before retrying.
    /// </param>
    public static async Task<T> Run<T>(Func<Task<T>> call, string ifUnsure = "Try again in a moment.")
    {
        try
        {
            return await call();
        }
        catch (ApiProblemException e)
        {
            throw new McpException(Explain(e));
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            throw new McpException($"{Unreachable} {ifUnsure}");
        }
    }

    public const string Unreachable = "The task api could not be reached or did not answer in time.";

    /// <summary>The api did not answer (no connection, the resilience handler gave up, a timeout, an unreadable body).</summary>
    public static bool IsUnreachable(Exception e) =>
        e is HttpRequestException or ExecutionRejectedException or JsonException
            or TaskCanceledException { CancellationToken.IsCancellationRequested: false };

    public static string Explain(ApiProblemException e)
    {
        var p = e.Problem;
        if (p.CurrentVersion is { } current)
        {
            return $"Version conflict: it was changed by someone else and is now at version {current}. " +
                   $"Read it again, re-apply your change and pass expectedVersion={current}.";
        }
        if (e.Status is System.Net.HttpStatusCode.ServiceUnavailable)
        {
            var wait = Math.Max(1, (int)Math.Ceiling((e.RetryAfter ?? TimeSpan.FromSeconds(2)).TotalSeconds));
            return $"The task service is temporarily unavailable ({p.Detail ?? p.Title ?? "503"}). Nothing was changed by this call; " +
                   $"retry it in {wait} second{(wait == 1 ? "" : "s")}.";
        }
        var message = p.Detail ?? p.Title ?? e.Status.ToString();
        if (p.Errors is { Count: > 0 } errors)
        {
            message = string.Join(" ", errors.Select(kv => $"{kv.Key}: {string.Join(" ", kv.Value)}"));
        }
        return $"{(int)e.Status} {p.Title}: {message}";
    }

    /// <summary>Runs a write whose Idempotency-Key is <paramref name="requestId"/>: retrying it with that id is always safe.</summary>
    public static Task<T> Write<T>(string tool, string requestId, Func<Task<T>> call) =>
        Run(call, $"It may or may not have been applied: call {tool} again with the same arguments and requestId={requestId}; " +
                  "if the first call did apply, you get its result back and nothing is applied twice.");
}
