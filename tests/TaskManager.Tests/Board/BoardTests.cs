using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TaskManager.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace TaskManager.Tests.Board;

/// <summary>Creating work on the board and moving cards with the mouse and the keyboard.</summary>
[Collection(BoardCollection.Name)]
public sealed class BoardTests(BoardFixture board)
{
    private readonly HttpClient _api = board.CreateApiClient();

    [Fact]
    public async Task Project_and_tasks_created_in_the_ui_appear_on_the_board()
    {
        var key = TestHelpers.NewProjectKey();
        await using var session = await board.OpenAsync();
        var page = session.Page;
        await page.GotoAsync("/").Timeout();

        await page.GetByRole(AriaRole.Button, new() { Name = "New project", Exact = true }).ClickAsync().Timeout();
        var projectDialog = page.GetByRole(AriaRole.Dialog, new() { Name = "New project", Exact = true });
        await projectDialog.GetByLabel("Key", new() { Exact = true }).FillAsync(key).Timeout();
        await projectDialog.GetByLabel("Title", new() { Exact = true }).FillAsync("Website relaunch").Timeout();
        await projectDialog.GetByLabel("Description", new() { Exact = true }).FillAsync("Everything for the new site.").Timeout();
        await projectDialog.GetByRole(AriaRole.Button, new() { Name = "Save project", Exact = true }).ClickAsync().Timeout();
        await Expect(projectDialog).ToBeHiddenAsync().Timeout();
        await Expect(page.GetByRole(AriaRole.Combobox, new() { Name = "Project", Exact = true })).ToHaveValueAsync(key).Timeout();
        await Expect(page).ToHaveURLAsync(new Regex($"[?&]project={key}(&|$)")).Timeout();

        await page.GetByRole(AriaRole.Button, new() { Name = "New task", Exact = true }).ClickAsync().Timeout();
        var taskDialog = session.TaskDialog("New task");
        await taskDialog.GetByLabel("Title", new() { Exact = true }).FillAsync("Write the launch checklist").Timeout();
        await taskDialog.GetByRole(AriaRole.Combobox, new() { Name = "Priority", Exact = true }).SelectOptionAsync("high").Timeout();
        await taskDialog.GetByLabel("Assignee", new() { Exact = true }).FillAsync("alice").Timeout();
        await taskDialog.GetByLabel("Labels", new() { Exact = true }).FillAsync("docs, launch").Timeout();
        await taskDialog.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync().Timeout();
        await Expect(taskDialog).ToBeHiddenAsync().Timeout();

        var card = session.Card($"{key}-1");
        await session.ExpectColumnAsync("todo", $"{key}-1");
        await Expect(card).ToContainTextAsync("Write the launch checklist").Timeout();
        await Expect(card.GetByTestId("priority")).ToContainTextAsync("high", new() { IgnoreCase = true }).Timeout();
        await Expect(card.GetByTestId("assignee")).ToContainTextAsync("alice").Timeout();
        await Expect(session.Column("todo").GetByTestId("count")).ToHaveTextAsync("1").Timeout();

        var project = await _api.GetFromJsonAsync<ProjectView>($"/api/projects/{key}", TestHelpers.Json, TestHelpers.Ct).Timeout();
        Assert.Equal(("Website relaunch", "Everything for the new site."), (project!.Title, project.Description));
        var task = Assert.Single(await _api.ListTasksAsync(key));
        Assert.Equal(("Write the launch checklist", "todo", "high", "alice"), (task.Title, task.Status, task.Priority, task.Assignee));
        Assert.Equal(["docs", "launch"], task.Labels);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_person_sets_the_done_policy_and_the_agent_lease_in_the_project_dialog_and_the_done_column_says_people_only()
    {
        var key = await _api.NewProjectAsync();
        await using var session = await board.OpenAsync();
        var page = session.Page;
        await session.GotoBoardAsync(key);
        await Expect(session.Column("done").GetByTestId("people-only")).ToHaveCountAsync(0).Timeout();

        await page.GetByRole(AriaRole.Button, new() { Name = "Edit project", Exact = true }).ClickAsync().Timeout();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Edit project", Exact = true });
        await dialog.GetByLabel("Only people move tasks to done").CheckAsync().Timeout();
        await dialog.GetByLabel("Agent lease (minutes)").FillAsync("30").Timeout();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save project", Exact = true }).ClickAsync().Timeout();
        await Expect(dialog).ToBeHiddenAsync().Timeout();

        await Expect(session.Column("done").GetByTestId("people-only")).ToHaveTextAsync("people only").Timeout();
        await session.ScreenshotAsync("done-policy.png");
        await Expect(session.Column("review").GetByTestId("people-only")).ToHaveCountAsync(0).Timeout();
        var project = await _api.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/projects/{key}", TestHelpers.Json, TestHelpers.Ct).Timeout();
        Assert.True(project.GetProperty("doneByPeopleOnly").GetBoolean());
        Assert.Equal(1800, project.GetProperty("agentLeaseSeconds").GetInt32());
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_project_is_edited_archived_and_restored_from_the_board()
    {
        var key = await _api.NewProjectAsync();
        await _api.NewTaskAsync(key, "Keeps its tasks");
        await using var session = await board.OpenAsync();
        var page = session.Page;
        await session.GotoBoardAsync(key);
        ILocator Button(string name) => page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });
        var picker = page.GetByRole(AriaRole.Combobox, new() { Name = "Project", Exact = true });

        await Button("Edit project").ClickAsync().Timeout();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Edit project", Exact = true });
        await Expect(dialog.GetByLabel("Key", new() { Exact = true })).ToBeDisabledAsync().Timeout();
        await dialog.GetByLabel("Title", new() { Exact = true }).FillAsync("Renamed in the board").Timeout();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save project", Exact = true }).ClickAsync().Timeout();
        await Expect(dialog).ToBeHiddenAsync().Timeout();
        await Expect(picker.Locator("option:checked")).ToHaveTextAsync($"{key} — Renamed in the board").Timeout();

        await Button("Archive project").ClickAsync().Timeout();
        await Expect(picker.Locator($"option[value='{key}']")).ToHaveCountAsync(0).Timeout();
        var archived = await _api.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/projects/{key}", TestHelpers.Json, TestHelpers.Ct).Timeout();
        Assert.Equal(System.Text.Json.JsonValueKind.String, archived.GetProperty("archivedAt").ValueKind);

        await page.GetByLabel("Show archived projects").CheckAsync().Timeout();
        await picker.SelectOptionAsync(key).Timeout();
        await Expect(Button("New task")).ToBeDisabledAsync().Timeout();
        await Button("Restore project").ClickAsync().Timeout();
        await Expect(Button("Archive project")).ToBeVisibleAsync().Timeout();
        await Expect(Button("New task")).ToBeEnabledAsync().Timeout();

        var restored = await _api.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/projects/{key}", TestHelpers.Json, TestHelpers.Ct).Timeout();
        Assert.Equal(("Renamed in the board", System.Text.Json.JsonValueKind.Null),
            (restored.GetProperty("title").GetString(), restored.GetProperty("archivedAt").ValueKind));
        await Expect(session.Column("todo").GetByTestId("count")).ToHaveTextAsync("1").Timeout();
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Dragging_a_card_to_another_column_moves_it()
    {
        var key = await _api.NewProjectAsync();
        var first = await _api.NewTaskAsync(key, "Drag me");
        var second = await _api.NewTaskAsync(key, "Stay here");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.ExpectColumnAsync("todo", first, second);

        await session.DragAsync(session.Card(first), session.CardList("doing"));

        await session.ExpectColumnAsync("doing", first);
        await session.ExpectColumnAsync("todo", second);
        var moved = await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(first), t => t.Status == "doing");
        Assert.Equal("doing", moved.Status);
        Assert.Equal("todo", (await _api.GetTaskAsync(second)).Status);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Dragging_within_a_column_reorders_it()
    {
        var (key, a, b, c) = await NewProjectWithTasksAsync("A", "B", "C");
        await using var session = await OpenColumnAsync(key, a, b, c);

        // Onto the top edge of A: C goes before it.
        await session.DragAsync(session.Card(c), session.Card(a), new() { X = 20, Y = 4 });

        await session.ExpectColumnAsync("todo", c, a, b);
        var column = await BoardApi.EventuallyAsync(() => _api.ColumnAsync(key, "todo"), refs => refs.SequenceEqual([c, a, b]));
        Assert.Equal([c, a, b], column);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Dragging_down_within_a_column_reorders_it()
    {
        var (key, a, b, c) = await NewProjectWithTasksAsync("A", "B", "C");
        await using var session = await OpenColumnAsync(key, a, b, c);
        var target = await session.Card(c).BoundingBoxAsync().Timeout() ?? throw new InvalidOperationException($"{c} is not shown.");

        // Onto the bottom edge of C: A goes after it.
        await session.DragAsync(session.Card(a), session.Card(c), new() { X = 20, Y = target.Height - 4 });

        await session.ExpectColumnAsync("todo", b, c, a);
        var column = await BoardApi.EventuallyAsync(() => _api.ColumnAsync(key, "todo"), refs => refs.SequenceEqual([b, c, a]));
        Assert.Equal([b, c, a], column);
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Keyboard_moves_a_card_across_and_within_columns()
    {
        var (key, a, b, c) = await NewProjectWithTasksAsync("A", "B", "C");
        await using var session = await OpenColumnAsync(key, a, b, c);

        await PressOnCardAsync(session, a, "Alt+ArrowRight");
        await session.ExpectColumnAsync("doing", a);
        await session.ExpectColumnAsync("todo", b, c);
        Assert.Equal("doing", (await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(a), t => t.Status == "doing")).Status);
        // The moved card keeps the focus, so a keyboard user can keep moving it.
        await Expect(session.Card(a)).ToBeFocusedAsync().Timeout();
        await session.Page.Keyboard.PressAsync("Alt+ArrowRight").Timeout();
        await session.ExpectColumnAsync("review", a);
        Assert.Equal("review", (await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(a), t => t.Status == "review")).Status);
        await Expect(session.Card(a)).ToBeFocusedAsync().Timeout();
        await session.Page.Keyboard.PressAsync("Alt+ArrowLeft").Timeout();
        await session.ExpectColumnAsync("doing", a);
        Assert.Equal("doing", (await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(a), t => t.Status == "doing" && t.Version == 4)).Status);

        await PressOnCardAsync(session, c, "Alt+ArrowUp");
        await session.ExpectColumnAsync("todo", c, b);
        Assert.Equal([c, b], await BoardApi.EventuallyAsync(() => _api.ColumnAsync(key, "todo"), r => r.SequenceEqual([c, b])));

        await PressOnCardAsync(session, a, "Alt+ArrowLeft");
        await session.ExpectColumnAsync("todo", c, b, a);
        await session.ExpectColumnAsync("doing");
        Assert.Equal([c, b, a], await BoardApi.EventuallyAsync(() => _api.ColumnAsync(key, "todo"), r => r.SequenceEqual([c, b, a])));

        await PressOnCardAsync(session, c, "Alt+ArrowDown");
        await session.ExpectColumnAsync("todo", b, c, a);
        Assert.Equal([b, c, a], await BoardApi.EventuallyAsync(() => _api.ColumnAsync(key, "todo"), r => r.SequenceEqual([b, c, a])));
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Pressing_a_move_key_twice_quickly_moves_the_card_twice()
    {
        var key = await _api.NewProjectAsync();
        var a = await _api.NewTaskAsync(key, "A");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.ExpectColumnAsync("todo", a);

        // A user moving a card two columns presses twice without waiting for the server; a 300 ms round trip (a
        // remote server) makes sure the second press comes while the first move is still on its way.
        await session.Page.RouteAsync("**/api/tasks/*/move", async route =>
        {
            await Task.Delay(300);
            await route.ContinueAsync();
        }).Timeout();
        await session.Card(a).FocusAsync().Timeout();
        await session.Page.Keyboard.PressAsync("Alt+ArrowRight").Timeout();
        await session.Page.Keyboard.PressAsync("Alt+ArrowRight").Timeout();

        var moved = await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(a), t => t.Status == "review");
        Assert.Equal("review", moved.Status);
        await session.ExpectColumnAsync("review", a);
        await Expect(session.Page.GetByTestId("toast")).ToHaveCountAsync(0).Timeout();
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_refused_move_snaps_back_and_says_why()
    {
        var key = await _api.NewProjectAsync();
        var schema = await _api.NewTaskAsync(key, "Schema");
        var endpoints = await _api.NewTaskAsync(key, "Endpoints");
        var client = await _api.NewTaskAsync(key, "Client");
        await _api.AddBlockerAsync(endpoints, schema);
        await _api.AddBlockerAsync(client, schema);
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.ExpectColumnAsync("todo", schema, endpoints, client);
        await Expect(session.Card(endpoints).GetByTestId("blocked")).ToContainTextAsync(schema).Timeout();

        await session.DragAsync(session.Card(endpoints), session.CardList("doing"));

        await Expect(session.Page.GetByTestId("toast").Filter(new() { HasText = $"{endpoints} is blocked by {schema}" })).ToBeVisibleAsync().Timeout();
        await session.ExpectColumnAsync("todo", schema, endpoints, client);
        await session.ExpectColumnAsync("doing");

        await PressOnCardAsync(session, client, "Alt+ArrowRight");

        await Expect(session.Page.GetByTestId("toast").Filter(new() { HasText = $"{client} is blocked by {schema}" })).ToBeVisibleAsync().Timeout();
        await Expect(session.Page.GetByRole(AriaRole.Alert).Filter(new() { HasText = $"{client} is blocked by {schema}" })).ToBeVisibleAsync().Timeout();
        await session.ExpectColumnAsync("todo", schema, endpoints, client);
        await session.ExpectColumnAsync("doing");
        Assert.All(await _api.ListTasksAsync(key), t => Assert.Equal("todo", t.Status));
        session.AssertNoConsoleProblems(409);
    }

    private static async Task PressOnCardAsync(BoardSession session, string reference, string keys)
    {
        await session.Card(reference).FocusAsync().Timeout();
        await session.Card(reference).PressAsync(keys).Timeout();
    }

    private async Task<(string Key, string A, string B, string C)> NewProjectWithTasksAsync(string a, string b, string c)
    {
        var key = await _api.NewProjectAsync();
        return (key, await _api.NewTaskAsync(key, a), await _api.NewTaskAsync(key, b), await _api.NewTaskAsync(key, c));
    }

    /// <summary>The board of <paramref name="key"/>, once its To do column shows <paramref name="todo"/> in this order.</summary>
    private async Task<BoardSession> OpenColumnAsync(string key, params string[] todo)
    {
        var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.ExpectColumnAsync("todo", todo);
        return session;
    }
}
