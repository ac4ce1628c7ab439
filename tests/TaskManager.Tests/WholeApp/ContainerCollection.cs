namespace TaskManager.Tests.WholeApp;

/// <summary>
/// Whole-app tests that build stand-in images and run PostgreSQL in podman: heavy for a minute or more. Not parallel, so
/// xunit runs them after every parallel collection and they do not starve the browser tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerCollection
{
    public const string Name = "Containers (heavy, run last)";
}
