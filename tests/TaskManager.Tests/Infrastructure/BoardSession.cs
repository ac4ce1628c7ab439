using System.Collections.Concurrent;
using System.Text.Json;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// One test's browser context and page on the board, recording what the page said on its console, its uncaught errors
/// and any alert/confirm/prompt it opened.
/// </summary>
public sealed class BoardSession : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentQueue<string> _dialogs = new();
    private readonly List<string> _ignored = [];

    private BoardSession(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                _problems.Enqueue($"console.{message.Type}: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => _problems.Enqueue($"page error: {error}");
        page.Dialog += (_, dialog) =>
        {
            _dialogs.Enqueue($"{dialog.Type}: {dialog.Message}");
            _ = dialog.DismissAsync();
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>Messages of every alert, confirm or prompt the page opened (they are dismissed).</summary>
    public IReadOnlyCollection<string> Dialogs => _dialogs;

    public static async Task<BoardSession> OpenAsync(BoardFixture fixture, string? token, BrowserNewContextOptions? options)
    {
        options = options is null ? new() : new(options);
        options.BaseURL = fixture.Server.Address.ToString();
        var context = await fixture.Browser.NewContextAsync(options).Timeout();
        context.SetDefaultTimeout(BoardFixture.PlaywrightTimeout);
        context.SetDefaultNavigationTimeout(BoardFixture.PlaywrightTimeout);
        if (token is not null)
        {
            // Signed in the quick way: the board keeps its token in localStorage.
            await context.AddInitScriptAsync($"window.localStorage.setItem('tm.token', {JsonSerializer.Serialize(token)});").Timeout();
        }
        var page = await context.NewPageAsync().Timeout();
        return new BoardSession(context, page);
    }

    /// <summary>Opens the board of <paramref name="project"/> (with more query parameters if given) and waits for its columns.</summary>
    public async Task GotoBoardAsync(string project, string query = "")
    {
        await Page.GotoAsync($"/?project={Uri.EscapeDataString(project)}{(query.Length > 0 ? "&" + query : "")}").Timeout();
        await Expect(Column("todo")).ToBeVisibleAsync().Timeout();
    }

    /// <summary>Waits until the board's live stream is open, so that changes made from now on reach it.</summary>
    public Task WaitForLiveAsync() => Expect(Page.GetByTestId("live")).ToHaveTextAsync("Live").Timeout();

    /// <summary>The column section for a status: todo, doing, review or done.</summary>
    public ILocator Column(string status) => Page.Locator($"section[data-status='{status}']");

    public ILocator CardList(string status) => Page.Locator($"ul[data-status='{status}']");

    public ILocator Card(string reference) => Page.Locator($"li[data-ref='{reference}']");

    /// <summary>Waits until one column shows exactly these cards in this order.</summary>
    public Task ExpectColumnAsync(string status, params string[] references) =>
        ExpectRefsAsync($"ul[data-status='{status}'] li[data-ref]", references);

    /// <summary>Waits until the elements matching <paramref name="selector"/> carry exactly these data-ref values, in this order.</summary>
    public async Task ExpectRefsAsync(string selector, params string[] references)
    {
        try
        {
            await Page.WaitForFunctionAsync(
                "([selector, expected]) => [...document.querySelectorAll(selector)].map(e => e.dataset.ref).join(',') === expected",
                new object[] { selector, string.Join(",", references) },
                new() { Timeout = BoardFixture.PlaywrightTimeout, PollingInterval = 100 }).Timeout();
        }
        catch (TimeoutException)
        {
            var shown = await Page.Locator(selector).EvaluateAllAsync<string[]>("all => all.map(e => e.dataset.ref)").Timeout();
            Assert.Equal(references, shown);
        }
    }

    /// <summary>Focuses a card and presses Enter: its task dialog opens; returns it once it shows the task.</summary>
    public async Task<ILocator> OpenTaskAsync(string reference)
    {
        await Card(reference).FocusAsync().Timeout();
        await Card(reference).PressAsync("Enter").Timeout();
        var dialog = TaskDialog(reference);
        await Expect(dialog).ToBeVisibleAsync().Timeout();
        // The fields fill in once the task is read; what is typed before that is replaced by the loaded values.
        await Expect(dialog.GetByLabel("Title", new() { Exact = true })).Not.ToHaveValueAsync("").Timeout();
        return dialog;
    }

    public ILocator TaskDialog(string name) => Page.GetByRole(AriaRole.Dialog, new() { Name = name, Exact = true });

    /// <summary>
    /// Drags like a hand does: press, a small move to start the drag, many small moves to a point on the target (taken
    /// before anything moves aside), a pause there (SortableJS ignores cards while they animate), a last move, release.
    /// On a loaded machine the simulated gesture sometimes does not start a drag at all (no move is sent); only then it
    /// is repeated, at most three times. Where the card lands is still up to the board: the tests check it.
    /// </summary>
    public async Task DragAsync(ILocator source, ILocator target, Position? targetPosition = null)
    {
        await Expect(source).ToBeVisibleAsync().Timeout();
        await source.ScrollIntoViewIfNeededAsync().Timeout();
        var from = await source.BoundingBoxAsync().Timeout() ?? throw new InvalidOperationException("The dragged card is not shown.");
        var to = await target.BoundingBoxAsync().Timeout() ?? throw new InvalidOperationException("The drop target is not shown.");
        var (x, y) = (to.X + (targetPosition?.X ?? to.Width / 2), to.Y + (targetPosition?.Y ?? to.Height / 2));
        var moves = 0;
        void CountMoves(object? sender, IRequest request)
        {
            if (request.Method == "POST" && request.Url.EndsWith("/move", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref moves);
            }
        }
        Page.Request += CountMoves;
        try
        {
            for (var attempt = 0; attempt < 3 && Volatile.Read(ref moves) == 0; attempt++)
            {
                await Page.Mouse.MoveAsync(from.X + from.Width / 2, from.Y + from.Height / 2).Timeout();
                await Page.Mouse.DownAsync().Timeout();
                await Page.Mouse.MoveAsync(from.X + from.Width / 2 + 5, from.Y + from.Height / 2 + 5, new() { Steps = 5 }).Timeout();
                await Page.Mouse.MoveAsync(x, y, new() { Steps = 20 }).Timeout();
                await Task.Delay(400, TestHelpers.Ct).Timeout();
                await Page.Mouse.MoveAsync(x, y + 1).Timeout();
                await Page.Mouse.UpAsync().Timeout();
                for (var waited = 0; waited < 20 && Volatile.Read(ref moves) == 0; waited++)
                {
                    await Task.Delay(100, TestHelpers.Ct).Timeout();
                }
            }
        }
        finally
        {
            Page.Request -= CountMoves;
        }
    }

    /// <summary>
    /// Asserts the page logged no console error or warning and threw nothing. The browser itself logs every
    /// 4xx/5xx answer as a console error; a test that provokes one on purpose names its status here.
    /// </summary>
    public void AssertNoConsoleProblems(params int[] expectedStatuses)
    {
        var unexpected = _problems
            .Where(p => !expectedStatuses.Any(s => p.Contains($"the server responded with a status of {s}", StringComparison.Ordinal)))
            .Where(p => !_ignored.Any(fragment => p.Contains(fragment, StringComparison.Ordinal)))
            .ToArray();
        Assert.True(unexpected.Length == 0, "The page reported:\n" + string.Join("\n", unexpected));
    }

    /// <summary>A console message this test provokes on purpose (matched by a fragment of its text).</summary>
    public void IgnoreConsole(string fragment) => _ignored.Add(fragment);

    /// <summary>
    /// Runs axe-core on the whole page (an open modal dialog included) and fails on any serious or critical violation,
    /// or any of the rules named in <paramref name="alsoFailOn"/>, listing each with the elements concerned.
    /// </summary>
    public async Task<AxeResult> AssertAccessibleAsync(params string[] alsoFailOn)
    {
        var result = await Page.RunAxe().Timeout();
        var bad = result.Violations
            .Where(v => v.Impact is "serious" or "critical" || alsoFailOn.Contains(v.Id))
            .ToArray();
        Assert.True(bad.Length == 0, "axe-core found:\n" + string.Join("\n", bad.Select(v =>
            $"[{v.Impact}] {v.Id}: {v.Help} ({v.HelpUrl})\n" + string.Join("\n", v.Nodes.Select(n =>
                $"    {n.Target}: {n.Html}\n      {string.Join("; ", n.Any.Concat(n.All).Concat(n.None).Select(c => c.Message))}")))));
        return result;
    }

    /// <summary>
    /// Saves a screenshot to TestResults/screenshots (not committed), or to docs/screenshots, which the README shows,
    /// when TASKMANAGER_UPDATE_SCREENSHOTS=1: a plain test run leaves the working tree clean.
    /// </summary>
    public async Task ScreenshotAsync(string name)
    {
        var update = Environment.GetEnvironmentVariable("TASKMANAGER_UPDATE_SCREENSHOTS") == "1";
        var directory = Path.Combine(TestHelpers.RepositoryRoot(), update ? "docs" : "TestResults", "screenshots");
        Directory.CreateDirectory(directory);
        await Page.ScreenshotAsync(new() { Path = Path.Combine(directory, name), Animations = ScreenshotAnimations.Disabled }).Timeout();
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));
}
