using Microsoft.Playwright;
using TaskManager.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace TaskManager.Tests.Board;

/// <summary>How the board presents itself: inert user text, accessibility, a phone-sized screen, dark mode. Writes docs/screenshots.</summary>
[Collection(BoardCollection.Name)]
public sealed class PresentationTests(BoardFixture board)
{
    private static readonly BrowserNewContextOptions Desktop = new() { ViewportSize = new() { Width = 1440, Height = 900 } };

    private readonly HttpClient _api = board.CreateApiClient();

    /// <summary>The varied board, with an assignee that is an agent token's name.</summary>
    private async Task<string> SeedAsync(string key)
    {
        const string agent = "claude-code";
        await board.SharedAgentTokenAsync(agent);
        return await _api.SeedVariedBoardAsync(key, agent);
    }

    [Fact]
    public async Task User_text_is_rendered_inert()
    {
        const string title = "<img src=x onerror=alert(1)>";
        var key = await _api.NewProjectAsync();
        var task = await _api.NewTaskAsync(key, title, new
        {
            description = "<script>alert(2)</script>\n\n[click me](javascript:alert(3))\n\n<img src=x onerror=alert(4)> <a href=\"javascript:alert(5)\">raw link</a>",
            labels = new[] { "<b>bold</b>" },
        });
        await _api.AddCommentAsync(task, "Inert comment <img src=x onerror=alert(6)> <script>alert(7)</script>");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);

        var card = session.Card(task);
        await Expect(card).ToContainTextAsync(title).Timeout();
        await Expect(card).ToContainTextAsync("<b>bold</b>").Timeout();
        await Expect(session.Page.Locator("li[data-ref] img, li[data-ref] b")).ToHaveCountAsync(0).Timeout();

        var dialog = await session.OpenTaskAsync(task);
        await Expect(dialog.GetByLabel("Title", new() { Exact = true })).ToHaveValueAsync(title).Timeout();
        var preview = dialog.GetByTestId("description-preview");
        await Expect(preview).ToContainTextAsync("click me").Timeout();
        await Expect(dialog.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Inert comment" })).ToBeVisibleAsync().Timeout();
        await Expect(dialog.Locator("script")).ToHaveCountAsync(0).Timeout();
        await Expect(dialog.Locator("[onerror], [onclick], [onload]")).ToHaveCountAsync(0).Timeout();
        await Expect(dialog.Locator("a[href^='javascript:' i]")).ToHaveCountAsync(0).Timeout();
        // Raw HTML in markdown is shown as text, not parsed into elements at all.
        await Expect(preview).ToContainTextAsync("<img src=x onerror=alert(4)>").Timeout();
        await Expect(dialog.Locator(".markdown img")).ToHaveCountAsync(0).Timeout();

        Assert.Empty(session.Dialogs);
        // Not even a refused inline handler or a request for the would-be image reaches the console.
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Board_and_task_dialog_have_no_serious_accessibility_violations()
    {
        var key = await _api.NewProjectAsync();
        var rich = await SeedAsync(key);
        await using var session = await board.OpenAsync(Desktop);
        await session.GotoBoardAsync(key);
        await Expect(session.Page.Locator("li[data-ref]")).ToHaveCountAsync(6).Timeout();
        await session.WaitForLiveAsync();

        await session.AssertAccessibleAsync();
        await session.ScreenshotAsync("board.png");

        var dialog = await session.OpenTaskAsync(rich);
        await Expect(dialog.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "drop target" })).ToBeVisibleAsync().Timeout();
        await session.AssertAccessibleAsync();
        await session.ScreenshotAsync("task-dialog.png");
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Narrow_screen_390px_shows_the_board_usable()
    {
        var key = await _api.NewProjectAsync();
        var rich = await SeedAsync(key);
        await using var session = await board.OpenAsync(new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true });
        await session.GotoBoardAsync(key);
        var cards = session.Page.Locator("li[data-ref]");
        await Expect(cards).ToHaveCountAsync(6).Timeout();

        var overflow = await session.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth").Timeout();
        Assert.True(overflow <= 0, $"The document is {overflow}px wider than the 390px screen.");
        await Expect(session.Page.GetByRole(AriaRole.Button, new() { Name = "New task", Exact = true })).ToBeInViewportAsync().Timeout();
        await session.ScreenshotAsync("narrow.png");
        foreach (var card in await cards.AllAsync().Timeout())
        {
            await card.ScrollIntoViewIfNeededAsync().Timeout();
            await Expect(card).ToBeInViewportAsync(new() { Ratio = 0.9f }).Timeout();
        }
        await session.OpenTaskAsync(rich);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Dark_mode_renders_without_contrast_violations()
    {
        var key = await _api.NewProjectAsync();
        var rich = await SeedAsync(key);
        var options = new BrowserNewContextOptions { ViewportSize = Desktop.ViewportSize, ColorScheme = ColorScheme.Dark };
        await using var session = await board.OpenAsync(options);
        await session.GotoBoardAsync(key);
        await Expect(session.Page.Locator("li[data-ref]")).ToHaveCountAsync(6).Timeout();

        var background = await session.Page.EvaluateAsync<double>("""
            () => {
              for (const element of [document.body, document.documentElement]) {
                const [r, g, b, a = 1] = getComputedStyle(element).backgroundColor.match(/[\d.]+/g).map(Number);
                if (a > 0) return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
              }
              return 1;
            }
            """).Timeout();
        Assert.True(background < 0.3, $"Dark mode was asked for, but the page background has luminance {background:0.00}.");
        await session.AssertAccessibleAsync("color-contrast");
        await session.ScreenshotAsync("dark.png");

        await session.OpenTaskAsync(rich);
        await session.AssertAccessibleAsync("color-contrast");
        session.AssertNoConsoleProblems();
    }
}
