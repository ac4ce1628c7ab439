extern alias mcp;

using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Aspire.Hosting.Testing;
using ModelContextProtocol.Client;
using Microsoft.AspNetCore.Authorization;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>The MCP tools, resources and prompts, driven by the C# SDK client against the AppHost's mcp and api.</summary>
public sealed class McpToolsTests(AppFixture app)
{
    private readonly HttpClient _api = app.CreateApiClient();

    [Fact]
    public async Task A_writer_sees_every_tool_and_a_reader_only_the_read_only_ones()
    {
        await using var writer = await ConnectAsync(await TokenAsync("writer", "write"));
        await using var reader = await ConnectAsync(await TokenAsync("reader", "read"));

        var all = (await writer.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout()).Select(t => t.Name).Order();
        var readOnly = (await reader.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout()).Select(t => t.Name).Order();
        var refused = await CallAsync(reader, "manage_task", new() { ["action"] = "create", ["project"] = "WEB", ["title"] = "x" });

        Assert.Equal(["add_comment", "claim_next_task", "create_plan", "find_projects", "find_tasks", "get_task", "heartbeat",
            "manage_dependency", "manage_project", "manage_task", "release_task", "task_history"], all);
        Assert.Equal(["find_projects", "find_tasks", "get_task", "task_history"], readOnly);
        Assert.True(refused.IsError);
        Assert.Contains("can only read (it lacks the write scope)", Text(refused));
    }

    [Fact]
    public void Every_tool_that_writes_requires_the_write_scope_through_the_SDKs_authorization()
    {
        var tools = typeof(mcp::TaskManager.Mcp.Tools.TaskTools).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Select(m => (Tool: m.GetCustomAttribute<McpServerToolAttribute>(), Policy: m.GetCustomAttribute<AuthorizeAttribute>()?.Policy))
            .Where(t => t.Tool is not null)
            .ToArray();

        Assert.Equal(12, tools.Length);
        Assert.All(tools, t => Assert.Equal(t.Tool!.ReadOnly ? null : "write", t.Policy));
    }

    [Fact]
    public async Task An_agent_claims_works_and_hands_over_a_task()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _api.CreateTaskAsync(key, "Low", new { priority = "low" });
        await _api.CreateTaskAsync(key, "Urgent", new { priority = "critical", description = "Fix **now**" });
        await using var agent = await ConnectAsync(await TokenAsync("claude-code", "write"));

        var claim = Json(await CallAsync(agent, "claim_next_task", new() { ["project"] = key }));
        var claimed = claim.GetProperty("task");
        Assert.Equal($"{key}-2", claimed.GetProperty("ref").GetString());
        Assert.Equal("doing", claimed.GetProperty("status").GetString());
        Assert.Equal("claude-code", claimed.GetProperty("assignee").GetString());

        await CallAsync(agent, "add_comment", new() { ["task"] = $"{key}-2", ["body"] = "Found the cause" });
        var detail = Json(await CallAsync(agent, "get_task", new() { ["task"] = $"{key}-2" }));
        Assert.Equal("Fix **now**", detail.GetProperty("task").GetProperty("description").GetString());
        Assert.Equal("Found the cause", detail.GetProperty("recentComments")[0].GetProperty("body").GetString());
        Assert.Contains(detail.GetProperty("recentHistory").EnumerateArray(), e => e.GetProperty("kind").GetString() == "task.claimed");

        var review = await CallAsync(agent, "manage_task", new()
        {
            ["action"] = "update", ["task"] = $"{key}-2", ["status"] = "review",
            ["expectedVersion"] = detail.GetProperty("task").GetProperty("version").GetInt32(),
        });
        Assert.NotEqual(true, review.IsError);
        var task = await _api.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-2", TestHelpers.Ct).Timeout();
        Assert.Equal("review", task.GetProperty("status").GetString());
        Assert.Equal("claude-code", task.GetProperty("updatedBy").GetString());

        await CallAsync(agent, "claim_next_task", new() { ["project"] = key });
        var nothing = Json(await CallAsync(agent, "claim_next_task", new() { ["project"] = key }));
        Assert.False(nothing.TryGetProperty("task", out var none) && none.ValueKind != JsonValueKind.Null);
        Assert.Contains("No task is ready", nothing.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_agent_is_told_the_done_policy_and_may_not_change_it()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        (await _api.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"doneByPeopleOnly":true}""")).EnsureSuccessStatusCode();
        await _api.CreateTaskAsync(key, "Needs a person to finish");
        await using var agent = await ConnectAsync(await TokenAsync("policy-agent", "write"));

        var done = await CallAsync(agent, "manage_task", new() { ["action"] = "update", ["task"] = $"{key}-1", ["status"] = "done" });
        var lift = await CallAsync(agent, "manage_project", new() { ["action"] = "update", ["project"] = key, ["doneByPeopleOnly"] = false });
        var review = await CallAsync(agent, "manage_task", new() { ["action"] = "move", ["task"] = $"{key}-1", ["status"] = "review" });

        Assert.True(done.IsError);
        Assert.Contains("lets only people move tasks to done", Text(done));
        Assert.Contains("review", Text(done));
        Assert.True(lift.IsError);
        Assert.Contains("Only a person", Text(lift));
        Assert.Equal("review", Json(review).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Dependencies_subtasks_and_moves_over_mcp()
    {
        await using var agent = await ConnectAsync(app.AdminToken);
        var project = Json(await CallAsync(agent, "manage_project", new() { ["action"] = "create", ["key"] = TestHelpers.NewProjectKey(), ["title"] = "Via MCP" }));
        var key = project.GetProperty("key").GetString()!;
        foreach (var title in new[] { "Epic", "Schema", "Endpoints" })
        {
            await CallAsync(agent, "manage_task", new() { ["action"] = "create", ["project"] = key, ["title"] = title,
                ["parent"] = title == "Epic" ? null : $"{key}-1" });
        }

        var added = await CallAsync(agent, "manage_dependency", new() { ["action"] = "add", ["task"] = $"{key}-3", ["blocker"] = $"{key}-2" });
        var cycle = await CallAsync(agent, "manage_dependency", new() { ["action"] = "add", ["task"] = $"{key}-2", ["blocker"] = $"{key}-3" });
        var moved = Json(await CallAsync(agent, "manage_task", new() { ["action"] = "move", ["task"] = $"{key}-2", ["status"] = "doing" }));
        var epic = Json(await CallAsync(agent, "get_task", new() { ["task"] = $"{key}-1" }));
        var waiting = Json(await CallAsync(agent, "get_task", new() { ["task"] = $"{key}-3" }));
        var found = Json(await CallAsync(agent, "find_projects", new() { ["query"] = key }));

        Assert.NotEqual(true, added.IsError);
        Assert.True(cycle.IsError);
        Assert.Contains("cycle", Text(cycle));
        Assert.Equal("doing", moved.GetProperty("status").GetString());
        Assert.Equal([$"{key}-2", $"{key}-3"], epic.GetProperty("subtasks").EnumerateArray().Select(t => t.GetProperty("ref").GetString()));
        Assert.Equal([$"{key}-2"], waiting.GetProperty("blockers").EnumerateArray().Select(t => t.GetProperty("ref").GetString()));
        Assert.Equal(key, found.GetProperty("projects")[0].GetProperty("key").GetString());
    }

    [Fact]
    public async Task The_board_and_tasks_can_be_read_as_resources()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _api.CreateTaskAsync(key, "On the board", new { assignee = "alice" });
        await using var agent = await ConnectAsync(app.AdminToken);

        var templates = await agent.ListResourceTemplatesAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        var board = await agent.ReadResourceAsync($"taskmanager://projects/{key}/board", cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        var task = await agent.ReadResourceAsync($"taskmanager://tasks/{key}-1", cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.Contains(templates, t => t.UriTemplate == "taskmanager://projects/{project}/board");
        var boardText = Assert.IsType<TextResourceContents>(board.Contents.Single()).Text;
        Assert.Contains($"- {key}-1 On the board [medium] @alice (ready)", boardText);
        var taskJson = JsonDocument.Parse(Assert.IsType<TextResourceContents>(task.Contents.Single()).Text).RootElement;
        Assert.Equal("On the board", taskJson.GetProperty("title").GetString());
    }

    [Fact]
    public async Task The_workflow_prompts_name_tools_that_exist()
    {
        await using var agent = await ConnectAsync(app.AdminToken);
        var tools = (await agent.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout()).Select(t => t.Name).ToHashSet();

        var prompts = await agent.ListPromptsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        var work = await agent.GetPromptAsync("work_next_task", new Dictionary<string, object?> { ["project"] = "WEB" },
            cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.Equal(["plan_feature", "work_next_task"], prompts.Select(p => p.Name).Order());
        var text = string.Join("\n", work.Messages.Select(m => m.Content).OfType<TextContentBlock>().Select(c => c.Text));
        Assert.Contains("claim_next_task with project=WEB", text);
        var named = System.Text.RegularExpressions.Regex.Matches(text + agent.ServerInstructions, @"\b[a-z]+_[a-z_]+\b").Select(m => m.Value).Distinct();
        Assert.All(named, name => Assert.Contains(name, tools));
    }

    [Fact]
    public async Task The_core_tool_set_offers_only_the_work_loop()
    {
        await using var factory = new McpFactory(app.App.GetEndpoint("api", "http"), new Dictionary<string, string> { ["Mcp:ToolSet"] = "core" });
        await using var agent = await factory.ConnectAsync(app.AdminToken);

        var key = TestHelpers.NewProjectKey();

        var tools = await agent.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        var hidden = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() => agent.CallToolAsync("manage_project",
            new Dictionary<string, object?> { ["action"] = "create", ["key"] = key, ["title"] = "Hidden" }, cancellationToken: TestHelpers.Ct).AsTask().Timeout());

        Assert.Equal(["add_comment", "claim_next_task", "find_tasks", "get_task", "heartbeat", "manage_task", "release_task"], tools.Select(t => t.Name).Order());
        // Outside the tool set a tool does not exist on this server: the SDK's "Unknown tool".
        Assert.Equal(ModelContextProtocol.McpErrorCode.InvalidParams, hidden.ErrorCode);
        Assert.Contains("manage_project", hidden.Message);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await _api.GetAsync($"/api/projects/{key}", TestHelpers.Ct).Timeout()).StatusCode);
        Assert.DoesNotContain("manage_project", agent.ServerInstructions);
    }

    [Theory]
    [InlineData("Mcp:ToolSet", "everything", "Mcp:ToolSet must be one of all, core, read-only")]
    [InlineData("Mcp:AllowedOrigins:0", "https://app.example.com/board", "Mcp:AllowedOrigins must be origins")]
    [InlineData("TaskApi:BaseAddress", "api:8080", "TaskApi:BaseAddress 'api:8080' must be an absolute http(s) address")]
    public void A_wrong_setting_stops_the_server_at_start_naming_it(string setting, string value, string expected)
    {
        using var factory = new McpFactory(app.App.GetEndpoint("api", "http"), new Dictionary<string, string> { [setting] = value });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains(expected, Flatten(error));
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " " + Flatten(e.InnerException);

    [Fact]
    public async Task Text_outside_ASCII_and_markup_characters_reach_the_model_as_written()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        const string Title = "Café <b> & “quotes” 日本語";
        await _api.CreateTaskAsync(key, Title);
        await using var agent = await ConnectAsync(app.AdminToken);

        var found = await CallAsync(agent, "find_tasks", new() { ["project"] = key });
        var resource = await agent.ReadResourceAsync($"taskmanager://tasks/{key}-1", cancellationToken: TestHelpers.Ct).AsTask().Timeout();

        Assert.Contains(Title, Text(found));
        Assert.Contains(Title, Assert.IsType<TextResourceContents>(Assert.Single(resource.Contents)).Text);
    }

    [Fact]
    public async Task Get_task_shows_the_latest_comments_and_history_oldest_first()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _api.CreateTaskAsync(key, "Busy");
        for (var i = 1; i <= 15; i++)
        {
            await _api.PostAsJsonAsync($"/api/tasks/{key}-1/comments", new { body = $"Note {i}" }, TestHelpers.Ct).Timeout();
            await _api.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", $$"""{"title":"Busy {{i}}"}""");
        }
        await using var agent = await ConnectAsync(app.AdminToken);

        var detail = Json(await CallAsync(agent, "get_task", new() { ["task"] = $"{key}-1" }));

        Assert.Equal(Enumerable.Range(6, 10).Select(i => $"Note {i}"),
            detail.GetProperty("recentComments").EnumerateArray().Select(c => c.GetProperty("body").GetString()));
        var history = detail.GetProperty("recentHistory").EnumerateArray().ToArray();
        Assert.Equal(10, history.Length);
        Assert.Equal("Busy 15", history[^1].GetProperty("data").GetProperty("changes").GetProperty("title").GetProperty("new").GetString());
        Assert.Equal(history.Select(e => e.GetProperty("id").GetInt64()).Order(), history.Select(e => e.GetProperty("id").GetInt64()));
    }

    [Theory]
    [InlineData("find_tasks", """{"limit":"abc"}""", "limit: expected integer")]
    [InlineData("find_tasks", """{"status":["todo",null]}""", "status[1]")]
    [InlineData("find_tasks", """{"limit":99999999999}""", "limit: 99999999999 is out of range")]
    [InlineData("find_tasks", """{"project":"  "}""", "project")]
    [InlineData("claim_next_task", """{"project":" "}""", "project")]
    [InlineData("find_tasks", """{"cursor":" "}""", "cursor is blank")]
    [InlineData("manage_task", """{"action":"create","project":"WEB","titel":"typo"}""", "titel: unknown argument")]
    [InlineData("manage_task", """{"action":"move","task":"WEB-1","title":"ignored?"}""", "title: not used by action=move")]
    [InlineData("manage_task", """{"action":"update","task":"WEB-1","project":"API"}""", "project: not used by action=update")]
    [InlineData("manage_task", """{"action":"create","project":"WEB","title":"x","requestId":"a\r\nX-Evil: 1"}""", "requestId")]
    [InlineData("get_task", """{"task":".."}""", "task '..' is not a task ref")]
    [InlineData("manage_project", """{"action":"update","project":"WEB","key":"NEW"}""", "key: not used by action=update")]
    [InlineData("create_plan", """{"project":"WEB","tasks":[{"name":"a","title":"A","status":"done"}]}""", "'status'")]
    [InlineData("create_plan", """{"project":"WEB","tasks":[{"name":"a","title":"A","blockedBy":["nope"]}]}""", "tasks[0].blockedBy[0]: 'nope' is neither")]
    [InlineData("manage_task", """{"action":"delete","task":"WEB-1"}""", "action: 'delete' is not one of create, update, move, archive, restore.")]
    [InlineData("manage_task", """{"action":"update","task":"WEB-1","status":"blocked"}""", "status: 'blocked' is not one of todo, doing, review, done.")]
    [InlineData("find_tasks", """{"priority":["high","urgent"]}""", "priority[1]: 'urgent' is not one of low, medium, high, critical.")]
    [InlineData("manage_dependency", """{"action":"link","task":"WEB-1","blocker":"WEB-2"}""", "action: 'link' is not one of add, remove.")]
    [InlineData("manage_task", """{"action":"update","task":"WEB-1","priority":2}""", "priority: expected string, got integer 2.")]
    public async Task Bad_arguments_are_tool_errors_that_name_the_argument(string tool, string arguments, string expected)
    {
        await using var agent = await ConnectAsync(app.AdminToken);
        var parsed = JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments)!;

        var result = await CallAsync(agent, tool, parsed);

        Assert.True(result.IsError);
        Assert.Contains(expected, Text(result));
    }

    [Fact]
    public async Task The_tool_schemas_list_the_allowed_actions_statuses_and_priorities()
    {
        await using var agent = await ConnectAsync(app.AdminToken);
        var tools = (await agent.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout()).ToDictionary(t => t.Name);

        string[] Allowed(string tool, string argument)
        {
            var schema = tools[tool].JsonSchema.GetProperty("properties").GetProperty(argument);
            var values = schema.TryGetProperty("items", out var items) ? items.GetProperty("enum") : schema.GetProperty("enum");
            return [.. values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)];
        }

        Assert.Equal(["create", "update", "move", "archive", "restore"], Allowed("manage_task", "action"));
        Assert.Equal(["create", "update", "archive", "restore"], Allowed("manage_project", "action"));
        Assert.Equal(["add", "remove"], Allowed("manage_dependency", "action"));
        Assert.Equal(["todo", "doing", "review", "done"], Allowed("manage_task", "status"));
        Assert.Equal(["todo", "doing", "review", "done"], Allowed("find_tasks", "status"));
        Assert.Equal(["low", "medium", "high", "critical"], Allowed("manage_task", "priority"));
        Assert.Equal(["low", "medium", "high", "critical"], Allowed("claim_next_task", "priority"));
    }

    [Fact]
    public async Task List_tools_return_structured_content_that_their_output_schema_describes()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _api.CreateTaskAsync(key, "Structured");
        await using var agent = await ConnectAsync(app.AdminToken);
        var tools = (await agent.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout()).ToDictionary(t => t.Name);

        var found = await CallAsync(agent, "find_tasks", new() { ["project"] = key });

        var schema = tools["find_tasks"].ProtocolTool.OutputSchema;
        Assert.NotNull(schema);
        Assert.True(schema.Value.GetProperty("properties").TryGetProperty("tasks", out _));
        var structured = Assert.IsType<JsonElement>(found.StructuredContent);
        Assert.Equal($"{key}-1", structured.GetProperty("tasks")[0].GetProperty("ref").GetString());
        Assert.Equal("Structured", structured.GetProperty("tasks")[0].GetProperty("title").GetString());
    }

    [Fact]
    public async Task Completion_offers_project_keys_by_prefix_and_task_refs_for_prompt_and_resource_arguments()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        // Pinned projects are listed first: the projects other tests create cannot push this one past the pages read.
        (await _api.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"pinned":true}""")).EnsureSuccessStatusCode();
        for (var i = 1; i <= 12; i++)
        {
            await _api.CreateTaskAsync(key, $"Task {i}");
        }
        await using var agent = await ConnectAsync(app.AdminToken);
        var taskResource = new ResourceTemplateReference { Uri = "taskmanager://tasks/{task}" };

        var keys = await CompleteAsync(agent, new PromptReference { Name = "work_next_task" }, "project", key[..5].ToLowerInvariant());
        var boardKeys = await CompleteAsync(agent, new ResourceTemplateReference { Uri = "taskmanager://projects/{project}/board" }, "project", key);
        var refs = await CompleteAsync(agent, taskResource, "task", $"{key}-1");
        var refStarts = await CompleteAsync(agent, taskResource, "task", key[..5]);
        var other = await CompleteAsync(agent, new PromptReference { Name = "plan_feature" }, "feature", "a");

        Assert.Contains(key, keys);
        Assert.All(keys, k => Assert.StartsWith(key[..5], k, StringComparison.OrdinalIgnoreCase));
        Assert.Equal([key], boardKeys);
        Assert.Equal([$"{key}-1", $"{key}-10", $"{key}-11", $"{key}-12"], refs);
        Assert.Contains($"{key}-", refStarts);
        Assert.Empty(other);
    }

    private static async Task<IList<string>> CompleteAsync(McpClient client, Reference reference, string argument, string value) =>
        (await client.CompleteAsync(reference, argument, value, cancellationToken: TestHelpers.Ct).AsTask().Timeout()).Completion.Values;

    [Fact]
    public async Task Enum_arguments_are_read_whatever_their_case()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await using var agent = await ConnectAsync(app.AdminToken);

        var created = Json(await CallAsync(agent, "manage_task", new() { ["action"] = "Create", ["project"] = key, ["title"] = "Loud", ["priority"] = "CRITICAL" }));

        Assert.Equal("critical", created.GetProperty("priority").GetString());
    }

    [Fact]
    public async Task Unknown_resources_are_resource_not_found()
    {
        await using var agent = await ConnectAsync(app.AdminToken);

        var error = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() =>
            agent.ReadResourceAsync("taskmanager://projects/NOSUCHPROJ/board", cancellationToken: TestHelpers.Ct).AsTask().Timeout());

        Assert.Equal(ModelContextProtocol.McpErrorCode.ResourceNotFound, error.ErrorCode);
    }

    [Theory]
    [InlineData("taskmanager://tasks/not_a_ref", "is not a task ref")]
    [InlineData("taskmanager://projects/W/board", "is not a project key")]
    public async Task Malformed_resource_references_are_invalid_params_naming_the_argument(string uri, string expected)
    {
        await using var agent = await ConnectAsync(app.AdminToken);

        var error = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() =>
            agent.ReadResourceAsync(uri, cancellationToken: TestHelpers.Ct).AsTask().Timeout());

        Assert.Equal(ModelContextProtocol.McpErrorCode.InvalidParams, error.ErrorCode);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task A_retried_create_with_the_same_request_id_makes_one_task()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await using var agent = await ConnectAsync(app.AdminToken);
        var arguments = new Dictionary<string, object?> { ["action"] = "create", ["project"] = key, ["title"] = "Once", ["requestId"] = "retry-" + Guid.NewGuid() };

        var first = Json(await CallAsync(agent, "manage_task", arguments));
        var second = Json(await CallAsync(agent, "manage_task", arguments));

        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        var list = await _api.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout();
        Assert.Equal(1, list.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_plan_is_created_in_one_call_and_a_retry_with_the_same_request_id_creates_it_once()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await using var agent = await ConnectAsync(app.AdminToken);
        var arguments = JsonSerializer.Deserialize<Dictionary<string, object?>>($$"""
            {
              "project": "{{key}}", "requestId": "plan-{{Guid.NewGuid()}}",
              "tasks": [
                { "name": "api", "title": "Build the API", "priority": "high", "labels": ["backend"], "blockedBy": ["schema"],
                  "subtasks": [ { "name": "api-tests", "title": "Tests" } ] },
                { "name": "schema", "title": "Design the schema" }
              ]
            }
            """)!;

        var first = Json(await CallAsync(agent, "create_plan", arguments));
        var retry = Json(await CallAsync(agent, "create_plan", arguments));

        Assert.Equal(first.GetRawText(), retry.GetRawText());
        Assert.Equal([("api", $"{key}-1", null), ("api-tests", $"{key}-2", $"{key}-1"), ("schema", $"{key}-3", null)],
            first.GetProperty("tasks").EnumerateArray().Select(t =>
                (t.GetProperty("name").GetString(), t.GetProperty("ref").GetString(), t.TryGetProperty("parent", out var parent) ? parent.GetString() : null)));
        var list = await _api.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout();
        Assert.Equal(3, list.GetProperty("items").GetArrayLength());
        var api = await _api.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal(("high", $"{key}-3"), (api.GetProperty("priority").GetString(), api.GetProperty("blockedBy")[0].GetString()));
    }

    [Fact]
    public async Task A_retried_move_with_the_same_request_id_returns_its_first_result_instead_of_a_conflict()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _api.CreateTaskAsync(key, "Moved once");
        await using var agent = await ConnectAsync(app.AdminToken);
        var arguments = new Dictionary<string, object?>
        {
            ["action"] = "move", ["task"] = $"{key}-1", ["status"] = "review", ["expectedVersion"] = 1, ["requestId"] = "move-" + Guid.NewGuid(),
        };

        var first = await CallAsync(agent, "manage_task", arguments);
        var retry = await CallAsync(agent, "manage_task", arguments);
        var unkeyed = await CallAsync(agent, "manage_task", new Dictionary<string, object?>(arguments) { ["requestId"] = null });

        Assert.False(retry.IsError is true, Text(retry));
        Assert.Equal(Json(first).GetProperty("version").GetInt32(), Json(retry).GetProperty("version").GetInt32());
        Assert.Equal(2, Json(retry).GetProperty("version").GetInt32());
        Assert.True(unkeyed.IsError);
        Assert.Contains("Version conflict", Text(unkeyed));
    }

    [Fact]
    public async Task An_agent_keeps_its_lease_with_heartbeats_and_hands_the_task_over_with_a_note()
    {
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _api.CreateTaskAsync(key, "Migrate the parser");
        await using var first = await ConnectAsync(await _api.CreateTokenAsync("first"));
        await using var second = await ConnectAsync(await _api.CreateTokenAsync("second"));

        var claim = await CallAsync(first, "claim_next_task", new() { ["project"] = key, ["leaseSeconds"] = 2 });
        var leaseId = Json(claim).GetProperty("task").GetProperty("lease").GetProperty("id").GetString()!;
        Assert.Contains($"Your lease {leaseId} runs until", Json(claim).GetProperty("message").GetString());
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(1000, TestHelpers.Ct);
            Assert.False(Json(await CallAsync(first, "heartbeat", new() { ["task"] = $"{key}-1", ["leaseId"] = leaseId })).GetProperty("expired").GetBoolean());
        }
        var logged = await CallAsync(first, "add_comment", new() { ["task"] = $"{key}-1", ["body"] = "Lexer done", ["leaseId"] = leaseId });
        var released = Json(await CallAsync(first, "release_task", new()
        {
            ["task"] = $"{key}-1", ["summary"] = "Lexer done, parser half way.", ["remaining"] = "Error recovery.",
            ["branch"] = "parser", ["leaseId"] = leaseId, ["requestId"] = "release-1",
        }));
        var stale = await CallAsync(first, "manage_task", new() { ["action"] = "update", ["task"] = $"{key}-1", ["title"] = "x", ["leaseId"] = leaseId });
        var badLease = await CallAsync(first, "heartbeat", new() { ["task"] = $"{key}-1", ["leaseId"] = "nope" });

        Assert.False(logged.IsError is true, Text(logged));
        Assert.Equal("todo", released.GetProperty("status").GetString());
        Assert.True(stale.IsError);
        Assert.Contains("re-claim", Text(stale));
        Assert.True(badLease.IsError);
        Assert.Contains("leaseId 'nope' is not a lease id", Text(badLease));
        var next = Json(await CallAsync(second, "claim_next_task", new() { ["project"] = key }));
        Assert.Equal("Lexer done, parser half way.", next.GetProperty("task").GetProperty("handoff").GetProperty("summary").GetString());
        Assert.Contains("left a handoff note: Lexer done, parser half way. Left to do: Error recovery.", next.GetProperty("message").GetString());
        var detail = Json(await CallAsync(second, "get_task", new() { ["task"] = $"{key}-1" }));
        Assert.Equal("parser", Assert.Single(detail.GetProperty("handoffs").EnumerateArray()).GetProperty("branch").GetString());
    }

    /// <summary>
    /// Five agents (C# SDK clients) work one project at once: claim, heartbeat, log, finish. One crashes after claiming;
    /// its lease runs out and another agent finishes that task. Every task ends done, finished exactly once.
    /// </summary>
    [Fact]
    public async Task Five_agents_work_a_project_in_parallel_and_a_crashed_agents_task_is_picked_up_by_another()
    {
        const int tasks = 12;
        var key = (await _api.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= tasks; i++)
        {
            await _api.CreateTaskAsync(key, $"Step {i}");
        }
        var names = new List<string>();
        var agents = new List<McpClient>();
        for (var i = 0; i < 5; i++)
        {
            var token = await _api.CreateTokenAsync($"agent{i}");
            var client = app.CreateApiClient(token);
            names.Add((await client.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout()).GetProperty("name").GetString()!);
            agents.Add(await ConnectAsync(token));
        }
        var crashedTask = new TaskCompletionSource<string>();
        var deadline = DateTime.UtcNow.AddSeconds(90);

        async Task WorkAsync(McpClient agent, bool crashes)
        {
            while (DateTime.UtcNow < deadline)
            {
                var claim = Json(await CallAsync(agent, "claim_next_task", new() { ["project"] = key, ["leaseSeconds"] = 3 }));
                if (!claim.TryGetProperty("task", out var task))
                {
                    var open = await _api.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&status=todo,doing&view=summary", TestHelpers.Ct).Timeout();
                    if (open.GetProperty("items").GetArrayLength() == 0)
                    {
                        return;
                    }
                    await Task.Delay(300, TestHelpers.Ct);
                    continue;
                }
                var (reference, lease) = (task.GetProperty("ref").GetString()!, task.GetProperty("lease").GetProperty("id").GetString()!);
                if (crashes)
                {
                    // Gone without a word: no heartbeat, no release.
                    crashedTask.SetResult(reference);
                    return;
                }
                Assert.False(Json(await CallAsync(agent, "heartbeat", new() { ["task"] = reference, ["leaseId"] = lease })).GetProperty("expired").GetBoolean());
                Json(await CallAsync(agent, "add_comment", new() { ["task"] = reference, ["body"] = "Working on it", ["leaseId"] = lease }));
                await Task.Delay(Random.Shared.Next(50, 250), TestHelpers.Ct);
                Json(await CallAsync(agent, "manage_task", new()
                {
                    ["action"] = "update", ["task"] = reference, ["status"] = "done", ["leaseId"] = lease,
                    ["expectedVersion"] = task.GetProperty("version").GetInt32(), ["requestId"] = $"finish-{reference}",
                }));
            }
        }

        await Task.WhenAll(agents.Select((agent, i) => WorkAsync(agent, crashes: i == 0))).WaitAsync(TimeSpan.FromSeconds(120), TestHelpers.Ct);

        var all = await _api.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}&limit=100", TestHelpers.Ct).Timeout();
        Assert.Equal(tasks, all.GetProperty("items").GetArrayLength());
        Assert.All(all.GetProperty("items").EnumerateArray(), t => Assert.Equal("done", t.GetProperty("status").GetString()));
        var history = await _api.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history?limit=200", TestHelpers.Ct).Timeout();
        var events = history.GetProperty("items").EnumerateArray().ToArray();
        var finishes = events.Where(e => e.GetProperty("data").TryGetProperty("changes", out var c)
                && c.TryGetProperty("status", out var s) && s.GetProperty("new").GetString() == "done")
            .GroupBy(e => e.GetProperty("taskRef").GetString()!).ToDictionary(g => g.Key, g => g.ToArray());
        Assert.Equal(tasks, finishes.Count);
        Assert.All(finishes.Values, f => Assert.Single(f));
        var crashed = await crashedTask.Task;
        var expiry = Assert.Single(events, e => e.GetProperty("kind").GetString() == "lease.expired");
        Assert.Equal((crashed, names[0]), (expiry.GetProperty("taskRef").GetString(), expiry.GetProperty("data").GetProperty("holder").GetString()));
        Assert.Contains(finishes[crashed][0].GetProperty("actor").GetString(), names.Skip(1));
        foreach (var agent in agents)
        {
            await agent.DisposeAsync();
        }
    }

    private async Task<McpClient> ConnectAsync(string token) =>
        await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = app.McpEndpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}" },
        }), cancellationToken: TestHelpers.Ct).Timeout();

    private static Task<CallToolResult> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments) =>
        client.CallToolAsync(tool, arguments, cancellationToken: TestHelpers.Ct).AsTask().Timeout();

    private static string Text(CallToolResult result) =>
        string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    private static JsonElement Json(CallToolResult result)
    {
        Assert.True(result.IsError != true, Text(result));
        return JsonDocument.Parse(Text(result)).RootElement;
    }

    private async Task<string> TokenAsync(string name, string scope)
    {
        var response = await _api.PostAsJsonAsync("/api/tokens", new { name, scopes = new[] { scope } }, TestHelpers.Ct).Timeout();
        return (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
    }
}
