using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TaskManager.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace TaskManager.Tests.Board;

[Collection(BoardCollection.Name)]
public sealed class FilterAndTableTests(BoardFixture board)
{
    private readonly HttpClient _api = board.CreateApiClient();

    [Fact]
    public async Task Filters_narrow_the_board_and_live_in_the_url()
    {
        var key = await _api.NewProjectAsync();
        var alpha = await _api.NewTaskAsync(key, "Alpha", new { labels = new[] { "ui" }, assignee = "alice", priority = "high" });
        var beta = await _api.NewTaskAsync(key, "Beta", new { labels = new[] { "api" }, assignee = "bob", priority = "low" });
        var gamma = await _api.NewTaskAsync(key, "Gamma", new { labels = new[] { "ui" }, assignee = "bob", priority = "critical", status = "doing" });
        await using var session = await board.OpenAsync();
        var page = session.Page;

        await session.GotoBoardAsync(key, "label=ui");
        await Expect(Filter(page, "Label")).ToHaveValueAsync("ui").Timeout();
        await ExpectShownAsync(session, [alpha, gamma], [beta]);

        await Filter(page, "Assignee").FillAsync("bob").Timeout();
        await Expect(page).ToHaveURLAsync(new Regex("[?&]assignee=bob(&|$)")).Timeout();
        await Expect(page).ToHaveURLAsync(new Regex("[?&]label=ui(&|$)")).Timeout();
        await ExpectShownAsync(session, [gamma], [alpha, beta]);

        await page.ReloadAsync().Timeout();
        await Expect(Filter(page, "Assignee")).ToHaveValueAsync("bob").Timeout();
        await ExpectShownAsync(session, [gamma], [alpha, beta]);

        await Filter(page, "Assignee").FillAsync("").Timeout();
        await Filter(page, "Label").FillAsync("").Timeout();
        await Filter(page, "Search").FillAsync("Beta").Timeout();
        await Expect(page).ToHaveURLAsync(new Regex("[?&]q=Beta(&|$)")).Timeout();
        await Expect(page).Not.ToHaveURLAsync(new Regex("[?&](label|assignee)=")).Timeout();
        await ExpectShownAsync(session, [beta], [alpha, gamma]);

        await Filter(page, "Search").FillAsync("").Timeout();
        await PriorityFilter(page).SelectOptionAsync("critical").Timeout();
        await Expect(page).ToHaveURLAsync(new Regex("[?&]priority=critical(&|$)")).Timeout();
        await ExpectShownAsync(session, [gamma], [alpha, beta]);

        await PriorityFilter(page).SelectOptionAsync(new SelectOptionValue { Value = "" }).Timeout();
        await ExpectShownAsync(session, [alpha, beta, gamma], []);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Table_view_lists_and_sorts_tasks()
    {
        var key = await _api.NewProjectAsync();
        var bravo = await _api.NewTaskAsync(key, "Bravo", new { priority = "low" });
        var charlie = await _api.NewTaskAsync(key, "Charlie", new { status = "review", assignee = "carol" });
        var alpha = await _api.NewTaskAsync(key, "Alpha", new { status = "done", priority = "critical" });
        await using var session = await board.OpenAsync();
        var page = session.Page;
        await session.GotoBoardAsync(key);
        var rows = $"tr[data-ref]";

        var tableButton = page.GetByRole(AriaRole.Button, new() { Name = "Table", Exact = true });
        await tableButton.ClickAsync().Timeout();

        await Expect(tableButton).ToHaveAttributeAsync("aria-pressed", "true").Timeout();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Board", Exact = true })).ToHaveAttributeAsync("aria-pressed", "false").Timeout();
        await Expect(page).ToHaveURLAsync(new Regex("[?&]view=table(&|$)")).Timeout();
        await Expect(page.Locator(rows)).ToHaveCountAsync(3).Timeout();
        var charlieRow = page.Locator($"tr[data-ref='{charlie}']");
        await Expect(charlieRow).ToContainTextAsync("Charlie").Timeout();
        await Expect(charlieRow).ToContainTextAsync("carol").Timeout();
        await Expect(charlieRow).ToContainTextAsync("review", new() { IgnoreCase = true }).Timeout();

        var title = page.GetByRole(AriaRole.Columnheader).Filter(new() { HasText = "Title" });
        await title.GetByRole(AriaRole.Button).ClickAsync().Timeout();
        await Expect(title).ToHaveAttributeAsync("aria-sort", "ascending").Timeout();
        await session.ExpectRefsAsync(rows, alpha, bravo, charlie);

        await title.GetByRole(AriaRole.Button).ClickAsync().Timeout();
        await Expect(title).ToHaveAttributeAsync("aria-sort", "descending").Timeout();
        await session.ExpectRefsAsync(rows, charlie, bravo, alpha);

        await page.ReloadAsync().Timeout();
        await Expect(page.Locator(rows)).ToHaveCountAsync(3).Timeout();
        await Expect(page.GetByRole(AriaRole.Table)).ToBeVisibleAsync().Timeout();
        session.AssertNoConsoleProblems();
    }

    /// <summary>A toolbar filter; the visible one, as a closed task dialog may hold fields of the same name.</summary>
    private static ILocator Filter(IPage page, string label) => page.GetByLabel(label, new() { Exact = true }).Filter(new() { Visible = true });

    private static ILocator PriorityFilter(IPage page) =>
        page.GetByRole(AriaRole.Combobox, new() { Name = "Priority", Exact = true }).Filter(new() { Visible = true });

    private static async Task ExpectShownAsync(BoardSession session, string[] shown, string[] hidden)
    {
        foreach (var reference in shown)
        {
            await Expect(session.Card(reference)).ToBeVisibleAsync().Timeout();
        }
        foreach (var reference in hidden)
        {
            await Expect(session.Card(reference)).ToHaveCountAsync(0).Timeout();
        }
    }
}
