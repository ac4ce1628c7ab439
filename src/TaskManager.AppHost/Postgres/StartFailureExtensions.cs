using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>How a resource failed before it was first healthy: its state, exit code and last lines of output.</summary>
public sealed record StartFailure(string State, int? ExitCode, IReadOnlyList<string> LastOutput)
{
    /// <summary>What happened, to follow the resource's name: "exited with code 1", "failed to start".</summary>
    public string What => this switch
    {
        { ExitCode: { } code } when State == KnownResourceStates.Exited || State == KnownResourceStates.Finished => $"exited with code {code}",
        _ when State == KnownResourceStates.FailedToStart => "failed to start",
        _ => $"stopped ({State})",
    };

    /// <summary>The last lines of output, indented on lines of their own after a lead-in; empty when there were none.</summary>
    public string LastOutputText => LastOutput.Count == 0
        ? ""
        : $" Its last output:{Environment.NewLine}    {string.Join(Environment.NewLine + "    ", LastOutput)}{Environment.NewLine}";
}

public static partial class StartFailureExtensions
{
    /// <summary>How long a failed start waits for the AppHost to finish starting before stopping it anyway.</summary>
    private static readonly TimeSpan StartedGrace = TimeSpan.FromSeconds(10);

    private static readonly string[] FailedStates =
        [KnownResourceStates.FailedToStart, KnownResourceStates.Exited, KnownResourceStates.Finished, KnownResourceStates.RuntimeUnhealthy];

    /// <summary>
    /// Stops the AppHost with exit code 1 when the resource fails before it is first healthy, after logging the error
    /// <paramref name="explain"/> writes (what failed and what to do) to the AppHost's log and the resource's own log.
    /// </summary>
    /// <remarks>
    /// Aspire keeps a failed resource restartable from the dashboard, so resources waiting for it wait on, and with the
    /// dashboard on the AppHost never finishes starting: <c>dotnet run</c> sits there saying nothing. A database that
    /// never started is not worth waiting for. Once the resource has been healthy, a failure is left to Aspire (the
    /// dashboard shows it and can restart it).
    /// </remarks>
    public static IResourceBuilder<T> StopAppHostWhenStartFails<T>(this IResourceBuilder<T> resource, Func<StartFailure, string> explain)
        where T : IResource
    {
        if (!resource.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            return resource;
        }
        resource.ApplicationBuilder.Eventing.Subscribe<BeforeStartEvent>((@event, ct) =>
        {
            _ = WatchAsync(resource.Resource, explain, @event.Services);
            return Task.CompletedTask;
        });
        return resource;
    }

    private static async Task WatchAsync(IResource resource, Func<StartFailure, string> explain, IServiceProvider services)
    {
        var notifications = services.GetRequiredService<ResourceNotificationService>();
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        try
        {
            await foreach (var update in notifications.WatchAsync(lifetime.ApplicationStopping))
            {
                if (update.Resource != resource)
                {
                    continue;
                }
                if (update.Snapshot.HealthStatus == HealthStatus.Healthy)
                {
                    return;
                }
                // While the AppHost stops, resources exit on purpose.
                if (update.Snapshot.State?.Text is { } state && FailedStates.Contains(state) && !lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    var output = await LastOutputAsync(resource, services.GetRequiredService<ResourceLoggerService>(), lifetime.ApplicationStopping);
                    var failure = new StartFailure(state, update.Snapshot.ExitCode, output);
                    string message;
                    try
                    {
                        message = explain(failure);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // The explanation helps; stopping is what matters.
                        message = $"'{resource.Name}' {failure.What} before it was ready (and explaining why failed: {e.Message}). Stopping the AppHost.";
                    }
                    services.GetRequiredService<ILoggerFactory>().CreateLogger("TaskManager.AppHost").LogError("{Message}", message);
                    services.GetRequiredService<ResourceLoggerService>().GetLogger(resource).LogError("{Message}", message);
                    // The AppHost's exit code (its Main returns nothing). A test host running the AppHost in-process
                    // returns its own exit code from Main, which takes precedence.
                    Environment.ExitCode = 1;
                    await WhenStartedAsync(lifetime);
                    lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The AppHost is stopping anyway.
        }
    }

    /// <summary>
    /// Stopping while the host is still starting makes it log a TaskCanceledException on top of our error, so this waits
    /// a little for the start to end: services that wait with <see cref="WaitBehavior.StopOnResourceUnavailable"/> fail
    /// at once when what they wait for fails to start. Not when it was Running and exited before it was healthy: Aspire's
    /// wait for health ignores the exit, the start never ends, and the stop comes after the grace.
    /// </summary>
    private static async Task WhenStartedAsync(IHostApplicationLifetime lifetime)
    {
        try
        {
            await Task.Delay(StartedGrace, lifetime.ApplicationStarted);
        }
        catch (OperationCanceledException)
        {
            // Started.
        }
    }

    private static async Task<IReadOnlyList<string>> LastOutputAsync(IResource resource, ResourceLoggerService logs, CancellationToken ct)
    {
        var lines = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var batch in logs.GetAllAsync(resource).WithCancellation(timeout.Token))
            {
                // The program's own stderr (PostgreSQL logs there), without the timestamps and DCP's "[sys]" lines.
                lines.AddRange(batch
                    .Where(line => line.IsErrorMessage)
                    .Select(line => Timestamp().Replace(line.Content, ""))
                    .Where(line => line.Length > 0 && !line.StartsWith("[sys]", StringComparison.Ordinal)));
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // What arrived in time is enough.
        }
        return lines.TakeLast(8).ToList();
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T[\d:.]+Z\s?")]
    private static partial Regex Timestamp();
}
