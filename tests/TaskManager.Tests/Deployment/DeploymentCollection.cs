namespace TaskManager.Tests.Deployment;

/// <summary>
/// Tests that publish, build images or run whole stacks: CPU-heavy for minutes. Not parallel, so xunit runs them after
/// every parallel collection and they do not starve the browser tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeploymentCollection
{
    public const string Name = "Deployment (heavy, run last)";
}
