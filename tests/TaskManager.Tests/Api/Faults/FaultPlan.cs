namespace TaskManager.Tests.Api.Faults;

/// <summary>How many rounds of the five faults, and how long each lasts.</summary>
public sealed record FaultPlan(string Name, int Rounds, TimeSpan Calm, TimeSpan DatabaseDown, TimeSpan Pause)
{
    /// <summary>The api's sessions carry this name (and the events listener a suffix to it), so that only they are terminated.</summary>
    public const string ApiApplicationName = "taskmanager-faults-api";

    public static readonly FaultKind[] Round =
        [FaultKind.KillApi, FaultKind.StopDatabaseFast, FaultKind.TerminateBackends, FaultKind.StopDatabaseImmediate, FaultKind.PauseDatabase];

    /// <summary>One of each, a 5 s pause: part of every test run.</summary>
    public static readonly FaultPlan Short = new("short", 1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

    /// <summary>The version: rounds of all five with a 20 s pause and longer outages.</summary>
    public static FaultPlan Long(int rounds) => new("long", rounds, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20));
}
