using Microsoft.Playwright;
using TaskManager.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace TaskManager.Tests.Board;

[Collection(BoardCollection.Name)]
public sealed class SignInTests(BoardFixture board)
{
    [Fact]
    public async Task Sign_in_with_a_token_shows_the_board_and_sign_out_forgets_it()
    {
        using var api = board.CreateApiClient();
        var key = await api.NewProjectAsync();
        var adminName = await board.AdminNameAsync();
        await using var session = await board.OpenAsync(token: null);
        var page = session.Page;
        var tokenInput = page.GetByLabel("Access token", new() { Exact = true });
        var signIn = page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true });

        await page.GotoAsync($"/?project={key}").Timeout();
        await tokenInput.FillAsync("not-a-token-of-this-api").Timeout();
        await signIn.ClickAsync().Timeout();
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "not accepted" })).ToBeVisibleAsync().Timeout();
        Assert.Null(await StoredTokenAsync(page));

        await tokenInput.FillAsync(board.AdminToken).Timeout();
        await signIn.ClickAsync().Timeout();
        await Expect(page.GetByTestId("actor")).ToHaveTextAsync(adminName).Timeout();
        await Expect(session.Column("todo")).ToBeVisibleAsync().Timeout();
        await Expect(session.Column("todo").GetByRole(AriaRole.Heading)).ToContainTextAsync("To do").Timeout();
        Assert.Equal(board.AdminToken, await StoredTokenAsync(page));

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out", Exact = true }).ClickAsync().Timeout();
        await Expect(tokenInput).ToBeVisibleAsync().Timeout();
        Assert.Null(await StoredTokenAsync(page));
        await page.ReloadAsync().Timeout();
        await Expect(tokenInput).ToBeVisibleAsync().Timeout();
        await Expect(page.GetByTestId("actor")).ToHaveCountAsync(0).Timeout();
        await Expect(session.Column("todo")).ToHaveCountAsync(0).Timeout();
        session.AssertNoConsoleProblems(401);
    }

    private static Task<string?> StoredTokenAsync(IPage page) =>
        page.EvaluateAsync<string?>("() => window.localStorage.getItem('tm.token')").Timeout();
}
