using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Board;

/// <summary>Browser tests share one in-process server and one Chromium; they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class BoardCollection : ICollectionFixture<BoardFixture>
{
    public const string Name = "Board";
}
