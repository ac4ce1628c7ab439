using System.Net.Http.Json;
using Microsoft.Playwright;
using TaskManager.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace TaskManager.Tests.Board;

/// <summary>The task dialog: fields, comments, blockers, subtasks and a concurrent edit.</summary>
[Collection(BoardCollection.Name)]
public sealed class TaskDialogTests(BoardFixture board)
{
    private readonly HttpClient _api = board.CreateApiClient();

    [Fact]
    public async Task Editing_a_task_in_the_dialog_saves_every_field()
    {
        var key = await _api.NewProjectAsync();
        var epic = await _api.NewTaskAsync(key, "Epic");
        var task = await _api.NewTaskAsync(key, "Old title");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);

        var dialog = await session.OpenTaskAsync(task);
        await Field(dialog, "Title").FillAsync("New title").Timeout();
        await Field(dialog, "Description").FillAsync("Some **bold** text").Timeout();
        await Select(dialog, "Status").SelectOptionAsync("review").Timeout();
        await Select(dialog, "Priority").SelectOptionAsync("critical").Timeout();
        await Field(dialog, "Assignee").FillAsync("bob").Timeout();
        await Field(dialog, "Labels").FillAsync("api, urgent").Timeout();
        await Field(dialog, "Due date").FillAsync("2027-03-15").Timeout();
        await Field(dialog, "Parent").FillAsync(epic).Timeout();
        await Button(dialog, "Save").ClickAsync().Timeout();

        await Expect(dialog).ToBeHiddenAsync().Timeout();
        await session.ExpectColumnAsync("review", task);
        var card = session.Card(task);
        await Expect(card).ToContainTextAsync("New title").Timeout();
        await Expect(card.GetByTestId("priority")).ToContainTextAsync("critical", new() { IgnoreCase = true }).Timeout();
        await Expect(card.GetByTestId("assignee")).ToContainTextAsync("bob").Timeout();
        var saved = await _api.GetTaskAsync(task);
        Assert.Equal(("New title", "Some **bold** text", "review", "critical", "bob"),
            (saved.Title, saved.Description, saved.Status, saved.Priority, saved.Assignee));
        Assert.Equal(["api", "urgent"], saved.Labels);
        Assert.Equal(new DateOnly(2027, 3, 15), saved.DueDate);
        Assert.Equal((await _api.GetTaskAsync(epic)).Id, saved.ParentId);

        dialog = await session.OpenTaskAsync(task);
        await Expect(Field(dialog, "Title")).ToHaveValueAsync("New title").Timeout();
        await Expect(dialog.GetByTestId("description-preview").Locator("strong")).ToHaveTextAsync("bold").Timeout();
        await Expect(dialog.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Old title" }).Filter(new() { HasText = "New title" }))
            .Not.ToHaveCountAsync(0).Timeout();
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Adding_a_comment_shows_it_in_the_dialog()
    {
        var key = await _api.NewProjectAsync();
        var task = await _api.NewTaskAsync(key, "Needs a note");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);

        var dialog = await session.OpenTaskAsync(task);
        await Field(dialog, "Comment").FillAsync("Found the cause: a **stale** cache").Timeout();
        await Button(dialog, "Add comment").ClickAsync().Timeout();

        var comment = dialog.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Found the cause" });
        await Expect(comment).ToBeVisibleAsync().Timeout();
        await Expect(comment.Locator("strong")).ToHaveTextAsync("stale").Timeout();
        await Expect(Field(dialog, "Comment")).ToHaveValueAsync("").Timeout();
        var comments = await _api.GetFromJsonAsync<PageView<CommentView>>($"/api/tasks/{task}/comments", TestHelpers.Json, TestHelpers.Ct).Timeout();
        var saved = Assert.Single(comments!.Items);
        Assert.Equal(("Found the cause: a **stale** cache", await board.AdminNameAsync()), (saved.Body, saved.Author));
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task Blockers_are_added_and_removed_in_the_dialog()
    {
        var key = await _api.NewProjectAsync();
        var schema = await _api.NewTaskAsync(key, "Schema");
        var design = await _api.NewTaskAsync(key, "Design");
        var task = await _api.NewTaskAsync(key, "Endpoints");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);

        var dialog = await session.OpenTaskAsync(task);
        foreach (var blocker in new[] { schema, design })
        {
            await Field(dialog, "Blocker").FillAsync(blocker).Timeout();
            await Button(dialog, "Add blocker").ClickAsync().Timeout();
            await Expect(Button(dialog, $"Remove blocker {blocker}")).ToBeVisibleAsync().Timeout();
        }
        Assert.Equal([schema, design], (await _api.GetTaskAsync(task)).BlockedBy.Order());

        await Button(dialog, $"Remove blocker {schema}").ClickAsync().Timeout();

        await Expect(Button(dialog, $"Remove blocker {schema}")).ToHaveCountAsync(0).Timeout();
        Assert.Equal([design], (await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(task), t => t.BlockedBy.Length == 1)).BlockedBy);
        await dialog.PressAsync("Escape").Timeout();
        await Expect(dialog).ToBeHiddenAsync().Timeout();
        var blocked = session.Card(task).GetByTestId("blocked");
        await Expect(blocked).ToContainTextAsync(design).Timeout();
        await Expect(blocked).Not.ToContainTextAsync(schema).Timeout();
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_subtask_added_in_the_dialog_belongs_to_the_task()
    {
        var key = await _api.NewProjectAsync();
        var epic = await _api.NewTaskAsync(key, "Epic");
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);

        var dialog = await session.OpenTaskAsync(epic);
        await Field(dialog, "New subtask title").FillAsync("Write the migration").Timeout();
        await Button(dialog, "Add subtask").ClickAsync().Timeout();

        await Expect(dialog.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Write the migration" })).ToBeVisibleAsync().Timeout();
        var tasks = await BoardApi.EventuallyAsync(() => _api.ListTasksAsync(key), all => all.Length == 2);
        var parent = tasks.Single(t => t.Ref == epic);
        var child = tasks.Single(t => t.Ref != epic);
        Assert.Equal(("Write the migration", parent.Id), (child.Title, child.ParentId));
        Assert.Equal(new SubtaskView(1, 0), parent.Subtasks);
        await dialog.PressAsync("Escape").Timeout();
        await Expect(session.Card(child.Ref)).ToBeVisibleAsync().Timeout();
        await Expect(session.Card(epic)).ToContainTextAsync("0/1").Timeout();
        session.AssertNoConsoleProblems();
    }

    [Fact]
    public async Task A_stale_edit_shows_the_conflict_and_overwrites_nothing()
    {
        var key = await _api.NewProjectAsync();
        var task = await _api.NewTaskAsync(key, "Original");
        using var other = board.CreateApiClient(await board.CreateTokenAsync($"editor-{key.ToLowerInvariant()}", kind: "person"));
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);

        var dialog = await session.OpenTaskAsync(task);
        await Field(dialog, "Title").FillAsync("Mine").Timeout();
        await other.PatchTaskAsync(task, """{"title":"Theirs"}""");
        // The live stream may show the notice first; saving then meets the same 412 and the same notice.
        await Button(dialog, "Save").ClickAsync().Timeout();

        var conflict = session.Page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "changed by" });
        await Expect(conflict).ToBeVisibleAsync().Timeout();
        await Expect(Button(session.Page, "Discard my changes")).ToBeVisibleAsync().Timeout();
        Assert.Equal("Theirs", (await _api.GetTaskAsync(task)).Title);

        await Button(session.Page, "Overwrite with my changes").ClickAsync().Timeout();

        var saved = await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(task), t => t.Title == "Mine");
        Assert.Equal("Mine", saved.Title);
        await Expect(session.Card(task)).ToContainTextAsync("Mine").Timeout();
        session.AssertNoConsoleProblems(412);
    }

    [Fact]
    public async Task Overwriting_after_a_conflict_keeps_the_changes_the_user_did_not_touch()
    {
        var key = await _api.NewProjectAsync();
        var task = await _api.NewTaskAsync(key, "Original", new { description = "Old notes" });
        using var other = board.CreateApiClient(await board.CreateTokenAsync($"editor-{key.ToLowerInvariant()}", kind: "person"));
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);

        var dialog = await session.OpenTaskAsync(task);
        await Field(dialog, "Description").FillAsync("My notes").Timeout();
        await other.PatchTaskAsync(task, """{"title":"Theirs","priority":"critical"}""");
        await Button(dialog, "Save").ClickAsync().Timeout();
        await Expect(session.Page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "changed by" })).ToBeVisibleAsync().Timeout();

        await Button(session.Page, "Overwrite with my changes").ClickAsync().Timeout();

        var saved = await BoardApi.EventuallyAsync(() => _api.GetTaskAsync(task), t => t.Description == "My notes");
        Assert.Equal(("My notes", "Theirs", "critical"), (saved.Description, saved.Title, saved.Priority));
        await Expect(session.Card(task)).ToContainTextAsync("Theirs").Timeout();
        await Expect(session.Card(task).GetByTestId("priority")).ToHaveTextAsync("critical").Timeout();
        session.AssertNoConsoleProblems(412);
    }

    [Fact]
    public async Task A_live_change_to_the_open_task_shows_the_conflict_before_saving()
    {
        var key = await _api.NewProjectAsync();
        var task = await _api.NewTaskAsync(key, "Original");
        var otherName = $"colleague-{key.ToLowerInvariant()}";
        using var other = board.CreateApiClient(await board.CreateTokenAsync(otherName, kind: "person"));
        await using var session = await board.OpenAsync();
        await session.GotoBoardAsync(key);
        await session.WaitForLiveAsync();

        var dialog = await session.OpenTaskAsync(task);
        await Field(dialog, "Title").FillAsync("Mine").Timeout();
        await other.PatchTaskAsync(task, """{"title":"Theirs"}""");

        var conflict = dialog.GetByRole(AriaRole.Alert).Filter(new() { HasText = "changed by" });
        await Expect(conflict).ToContainTextAsync(otherName).Timeout();
        await Button(dialog, "Discard my changes").ClickAsync().Timeout();

        await Expect(conflict).ToHaveCountAsync(0).Timeout();
        await Expect(Field(dialog, "Title")).ToHaveValueAsync("Theirs").Timeout();
        Assert.Equal("Theirs", (await _api.GetTaskAsync(task)).Title);
        await Expect(session.Card(task)).ToContainTextAsync("Theirs").Timeout();
        session.AssertNoConsoleProblems();
    }

    private static ILocator Field(ILocator scope, string label) => scope.GetByLabel(label, new() { Exact = true });

    /// <summary>A select by its accessible name (a wrapping label's text also holds every option's text).</summary>
    private static ILocator Select(ILocator scope, string name) => scope.GetByRole(AriaRole.Combobox, new() { Name = name, Exact = true });

    private static ILocator Button(ILocator scope, string name) => scope.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    private static ILocator Button(IPage page, string name) => page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });
}
