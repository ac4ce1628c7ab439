using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary><c>POST /api/plans</c>: a tree of tasks with blocked-by edges by name, created in one step, all or nothing.</summary>
public sealed class PlanTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    private sealed record Plan(string Project, PlannedTask[] Tasks);

    private sealed record PlannedTask(string Name, string Ref, Guid Id, string? Parent);

    private sealed record TaskView(
        Guid Id, string Ref, Guid? ParentId, string Title, string Description, string Status, string Priority, string? Assignee,
        string[] Labels, string? DueDate, string[] BlockedBy, bool Ready, int Version);

    private sealed record PageView<T>(T[] Items, string? NextCursor);

    private sealed record EventView(string Kind, string? TaskRef, string Actor, JsonObject Data);

    /// <summary>Two top-level tasks, one with a subtask; "api" waits for "schema" and for a task of another project.</summary>
    private static JsonObject FeaturePlan(string key, string otherRef) => new()
    {
        ["project"] = key,
        ["tasks"] = new JsonArray(
            new JsonObject
            {
                ["name"] = "api", ["title"] = "Build the API", ["description"] = "Endpoints for **orders**", ["priority"] = "high",
                ["labels"] = new JsonArray("backend", "api"), ["assignee"] = "alice", ["dueDate"] = "2027-03-01",
                ["blockedBy"] = new JsonArray("Schema", otherRef),
                ["subtasks"] = new JsonArray(new JsonObject { ["name"] = "api-tests", ["title"] = "Tests", ["blockedBy"] = new JsonArray("schema") }),
            },
            new JsonObject { ["name"] = "schema", ["title"] = "Design the schema" }),
    };

    [Fact]
    public async Task A_plan_creates_the_tree_with_parents_labels_priorities_and_blocked_by_edges()
    {
        var key = await NewProjectAsync();
        var other = await NewProjectAsync();
        await _client.CreateTaskAsync(key, "Already there");
        var otherRef = (await _client.CreateTaskAsync(other, "Elsewhere")).GetProperty("ref").GetString()!;

        var response = await _client.PostAsJsonAsync("/api/plans", FeaturePlan(key, otherRef), TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var plan = (await response.Content.ReadFromJsonAsync<Plan>(TestHelpers.Ct).Timeout())!;
        Assert.Equal(key, plan.Project);
        Assert.Equal([("api", $"{key}-2", null), ("api-tests", $"{key}-3", $"{key}-2"), ("schema", $"{key}-4", null)],
            plan.Tasks.Select(t => (t.Name, t.Ref, t.Parent)));

        var column = await TasksAsync(key);
        Assert.Equal([$"{key}-1", $"{key}-2", $"{key}-3", $"{key}-4"], column.Select(t => t.Ref));
        var (api, tests, schema) = (column[1], column[2], column[3]);
        Assert.Equal(plan.Tasks.Select(t => t.Id), [api.Id, tests.Id, schema.Id]);
        Assert.Equal(("Build the API", "Endpoints for **orders**", "high", "alice", "2027-03-01"), (api.Title, api.Description, api.Priority, api.Assignee, api.DueDate));
        Assert.Equal(["api", "backend"], api.Labels.Order());
        Assert.All(column, t => Assert.Equal(("todo", 1), (t.Status, t.Version)));
        Assert.Equal(("medium", (Guid?)api.Id), (tests.Priority, tests.ParentId));
        Assert.Null(schema.ParentId);
        Assert.Equal(new[] { $"{key}-4", otherRef }.Order(StringComparer.Ordinal), api.BlockedBy.Order(StringComparer.Ordinal));
        Assert.Equal([$"{key}-4"], tests.BlockedBy);
        Assert.Equal([false, false, true], new[] { api.Ready, tests.Ready, schema.Ready });
    }

    [Fact]
    public async Task A_plan_writes_the_history_that_creating_its_tasks_one_by_one_would()
    {
        var key = await NewProjectAsync();
        var other = await NewProjectAsync();
        var otherRef = (await _client.CreateTaskAsync(other, "Elsewhere")).GetProperty("ref").GetString()!;

        (await _client.PostAsJsonAsync("/api/plans", FeaturePlan(key, otherRef), TestHelpers.Ct).Timeout()).EnsureSuccessStatusCode();

        var history = (await _client.GetFromJsonAsync<PageView<EventView>>($"/api/projects/{key}/history", TestHelpers.Ct).Timeout())!.Items
            .Where(e => e.Kind != "project.created").ToArray();
        Assert.Equal(
        [
            ("task.created", $"{key}-1"), ("task.created", $"{key}-2"), ("task.created", $"{key}-3"),
            ("dependency.added", $"{key}-1"), ("dependency.added", $"{key}-1"), ("dependency.added", $"{key}-2"),
        ], history.Select(e => (e.Kind, e.TaskRef)));
        Assert.All(history, e => Assert.Equal((string?)e.TaskRef, (string?)e.Data["ref"]));
        Assert.Equal(("Build the API", "high", "todo"),
            ((string?)history[0].Data["title"], (string?)history[0].Data["priority"], (string?)history[0].Data["status"]));
        Assert.Equal([$"{key}-3", otherRef, $"{key}-3"], history[3..].Select(e => (string?)e.Data["blocker"]));
    }

    [Theory]
    [InlineData("unknown name", """[{"name":"a","title":"A","subtasks":[{"name":"b","title":"B"},{"name":"c","title":"C","blockedBy":["b","nope"]}]}]""", "tasks[0].subtasks[1].blockedBy[1]")]
    [InlineData("cycle", """[{"name":"a","title":"A","blockedBy":["c"]},{"name":"b","title":"B","blockedBy":["a"]},{"name":"c","title":"C","blockedBy":["b"]}]""", "tasks[1].blockedBy[0]")]
    [InlineData("self", """[{"name":"a","title":"A","blockedBy":["A"]}]""", "tasks[0].blockedBy[0]")]
    [InlineData("unknown ref", """[{"name":"a","title":"A","blockedBy":["NOSUCHKEY-1"]}]""", "tasks[0].blockedBy[0]")]
    [InlineData("duplicate name", """[{"name":"a","title":"A","subtasks":[{"name":"A","title":"B"}]}]""", "tasks[0].subtasks[0].name")]
    [InlineData("name like a ref", """[{"name":"WEB-1","title":"A"}]""", "tasks[0].name")]
    [InlineData("missing name", """[{"title":"A"}]""", "tasks[0].name")]
    [InlineData("blank title", """[{"name":"a","title":"A","subtasks":[{"name":"b","title":" "}]}]""", "tasks[0].subtasks[0].title")]
    [InlineData("bad label", """[{"name":"a","title":"A","labels":["ok","line\nbreak"]}]""", "tasks[0].labels")]
    [InlineData("bad assignee", """[{"name":"a","title":"A","assignee":"x\u202Ey"}]""", "tasks[0].assignee")]
    [InlineData("null task", """[{"name":"a","title":"A"},null]""", "tasks[1]")]
    [InlineData("no tasks", """[]""", "tasks")]
    [InlineData("too deep", """[{"name":"a","title":"A","subtasks":[{"name":"b","title":"B","subtasks":[{"name":"c","title":"C","subtasks":[{"name":"d","title":"D","subtasks":[{"name":"e","title":"E","subtasks":[{"name":"f","title":"F"}]}]}]}]}]}]""", "tasks[0].subtasks[0].subtasks[0].subtasks[0].subtasks[0].subtasks")]
    [InlineData("unknown priority", """[{"name":"a","title":"A","priority":"urgent"}]""", "$.tasks[0].priority")]
    [InlineData("status", """[{"name":"a","title":"A","status":"done"}]""", "$.tasks[0].status")]
    public async Task A_plan_with_a_problem_creates_nothing_and_names_its_path(string problem, string tasks, string path)
    {
        var key = await NewProjectAsync();
        await _client.CreateTaskAsync(key, "Already there");
        var before = (await TasksAsync(key)).Length;

        var response = await _client.SendRawAsync(HttpMethod.Post, "/api/plans", $$"""{"project":"{{key}}","tasks":{{tasks}}}""");

        await response.AssertProblemAsync(400, path);
        Assert.True(before == (await TasksAsync(key)).Length, problem);
    }

    [Fact]
    public async Task A_plan_of_more_than_200_tasks_creates_nothing_and_says_so_once()
    {
        var key = await NewProjectAsync();
        var tasks = new JsonArray([.. Enumerable.Range(1, 201).Select(i => new JsonObject { ["name"] = $"t{i}", ["title"] = $"Task {i}" })]);

        var response = await _client.PostAsJsonAsync("/api/plans", new JsonObject { ["project"] = key, ["tasks"] = tasks }, TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(400);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors");
        Assert.Equal(["tasks"], errors.EnumerateObject().Select(e => e.Name));
        Assert.Contains("at most 200 tasks", errors.GetProperty("tasks")[0].GetString());
        Assert.Empty(await TasksAsync(key));
    }

    [Fact]
    public async Task A_retried_plan_with_the_same_Idempotency_Key_creates_one_plan_and_answers_the_same_refs()
    {
        var key = await NewProjectAsync();
        var other = await NewProjectAsync();
        var otherRef = (await _client.CreateTaskAsync(other, "Elsewhere")).GetProperty("ref").GetString()!;
        var idempotencyKey = "plan-" + Guid.NewGuid();

        var first = await PostKeyedAsync(FeaturePlan(key, otherRef), idempotencyKey);
        var retry = await PostKeyedAsync(FeaturePlan(key, otherRef), idempotencyKey);

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.StatusCode, retry.StatusCode));
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        var (firstPlan, retriedPlan) = ((await first.Content.ReadFromJsonAsync<Plan>(TestHelpers.Ct).Timeout())!, (await retry.Content.ReadFromJsonAsync<Plan>(TestHelpers.Ct).Timeout())!);
        Assert.Equal(firstPlan.Tasks, retriedPlan.Tasks);
        Assert.Equal(3, (await TasksAsync(key)).Length);
    }

    [Fact]
    public async Task A_plan_for_an_unknown_project_is_a_400()
    {
        var response = await _client.PostAsJsonAsync("/api/plans", FeaturePlan("NOSUCHKEY", "NOSUCHKEY-1"), TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(400, "project");
    }

    [Fact]
    public async Task A_plan_for_an_archived_project_is_a_409_and_creates_nothing()
    {
        var key = await NewProjectAsync();
        var other = await NewProjectAsync();
        var otherRef = (await _client.CreateTaskAsync(other, "Elsewhere")).GetProperty("ref").GetString()!;
        (await _client.PostAsync($"/api/projects/{key}/archive", null, TestHelpers.Ct).Timeout()).EnsureSuccessStatusCode();

        var response = await _client.PostAsJsonAsync("/api/plans", FeaturePlan(key, otherRef), TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(409);
        Assert.Contains("archived", (await response.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Empty(await TasksAsync(key, includeArchived: true));
        var blockers = await _client.GetFromJsonAsync<PageView<EventView>>($"/api/tasks/{otherRef}/history", TestHelpers.Ct).Timeout();
        Assert.Equal(["task.created"], blockers!.Items.Select(e => e.Kind));
    }

    private async Task<string> NewProjectAsync() => (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

    private async Task<TaskView[]> TasksAsync(string key, bool includeArchived = false) =>
        (await _client.GetFromJsonAsync<PageView<TaskView>>($"/api/tasks?project={key}&includeArchived={includeArchived}&limit=200", TestHelpers.Ct).Timeout())!.Items;

    private Task<HttpResponseMessage> PostKeyedAsync(JsonObject body, string idempotencyKey) =>
        _client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/plans")
        {
            Content = JsonContent.Create(body),
            Headers = { { "Idempotency-Key", idempotencyKey } },
        }, TestHelpers.Ct).Timeout();
}
