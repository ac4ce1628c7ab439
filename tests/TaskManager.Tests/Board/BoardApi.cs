using System.Net.Http.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Board;

public sealed record TaskView(
    Guid Id, string Ref, string Title, string Description, string Status, string Priority, string? Assignee, string[] Labels,
    DateOnly? DueDate, string[] BlockedBy, Guid? ParentId, SubtaskView Subtasks, int Version, string UpdatedBy);

public sealed record SubtaskView(int Total, int Done);

public sealed record PageView<T>(T[] Items, string? NextCursor);

public sealed record CommentView(string Author, string Body);

public sealed record ProjectView(string Key, string Title, string Description);

public sealed record ActorView(string Name, string Kind);

/// <summary>What the api says after the board wrote something: the tests' second opinion on every change.</summary>
public static class BoardApi
{
    public static async Task<string> NewProjectAsync(this HttpClient api) =>
        (await api.CreateProjectAsync()).GetProperty("key").GetString()!;

    public static async Task<string> NewTaskAsync(this HttpClient api, string project, string title, object? extra = null) =>
        (await api.CreateTaskAsync(project, title, extra)).GetProperty("ref").GetString()!;

    public static async Task<TaskView> GetTaskAsync(this HttpClient api, string reference) =>
        await api.GetFromJsonAsync<TaskView>($"/api/tasks/{reference}", TestHelpers.Json, TestHelpers.Ct).Timeout()
        ?? throw new InvalidOperationException($"No body for {reference}.");

    /// <summary>A project's tasks in board order (optionally one column).</summary>
    public static async Task<TaskView[]> ListTasksAsync(this HttpClient api, string project, string? status = null)
    {
        var page = await api.GetFromJsonAsync<PageView<TaskView>>(
            $"/api/tasks?project={project}&limit=200{(status is null ? "" : $"&status={status}")}", TestHelpers.Json, TestHelpers.Ct).Timeout();
        return page!.Items;
    }

    public static async Task<string[]> ColumnAsync(this HttpClient api, string project, string status) =>
        [.. (await api.ListTasksAsync(project, status)).Select(t => t.Ref)];

    public static async Task AddBlockerAsync(this HttpClient api, string task, string blocker)
    {
        var response = await api.PostAsJsonAsync($"/api/tasks/{task}/blockers", new { blocker }, TestHelpers.Ct).Timeout();
        Assert.True(response.IsSuccessStatusCode, $"Adding blocker {blocker} to {task}: {(int)response.StatusCode}");
    }

    public static async Task PatchTaskAsync(this HttpClient api, string task, string json)
    {
        var response = await api.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{task}", json);
        Assert.True(response.IsSuccessStatusCode, $"Updating {task}: {(int)response.StatusCode}");
    }

    public static async Task MoveTaskAsync(this HttpClient api, string task, object body)
    {
        var response = await api.PostAsJsonAsync($"/api/tasks/{task}/move", body, TestHelpers.Ct).Timeout();
        Assert.True(response.IsSuccessStatusCode, $"Moving {task}: {(int)response.StatusCode}");
    }

    public static async Task AddCommentAsync(this HttpClient api, string task, string body)
    {
        var response = await api.PostAsJsonAsync($"/api/tasks/{task}/comments", new { body }, TestHelpers.Ct).Timeout();
        Assert.True(response.IsSuccessStatusCode, $"Commenting on {task}: {(int)response.StatusCode}");
    }

    /// <summary>
    /// Reads until <paramref name="done"/> holds or 10 s pass, and returns the last reading: the board answers the user
    /// before its request to the api completes, so the api may lag the page by a moment.
    /// </summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var value = await read();
        while (!done(value) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, TestHelpers.Ct).Timeout();
            value = await read();
        }
        return value;
    }

    /// <summary>A board with a bit of everything, for screenshots and accessibility checks. Returns the ref of the richest task.</summary>
    public static async Task<string> SeedVariedBoardAsync(this HttpClient api, string key, string agentName)
    {
        var epic = await api.NewTaskAsync(key, "Ship the Kanban board", new { priority = "high", labels = new[] { "epic" } });
        await api.NewTaskAsync(key, "Sketch the board layout", new { status = "done", assignee = "alice", labels = new[] { "ui", "design" }, parent = epic });
        var drag = await api.NewTaskAsync(key, "Drag and drop between columns", new
        {
            status = "doing", priority = "high", assignee = agentName, labels = new[] { "ui" }, parent = epic,
            dueDate = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(7)).ToString("yyyy-MM-dd"),
            description = "Use **SortableJS**; dropping calls `POST /api/tasks/{ref}/move`.\n\n- keep the order\n- snap back when refused",
        });
        await api.NewTaskAsync(key, "Keyboard moves for cards", new { status = "review", assignee = "bob", labels = new[] { "a11y" }, parent = epic });
        var live = await api.NewTaskAsync(key, "Live updates over server-sent events", new { priority = "critical", labels = new[] { "api" } });
        var guide = await api.NewTaskAsync(key, "Write the user guide", new { priority = "low", labels = new[] { "docs" } });
        await api.AddBlockerAsync(guide, live);
        await api.AddCommentAsync(drag, "Started on this; the **drop target** needs a minimum height.");
        return drag;
    }
}
