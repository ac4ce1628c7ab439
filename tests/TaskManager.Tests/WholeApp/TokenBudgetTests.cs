using System.Text.Json;
using Aspire.Hosting.Testing;
using Microsoft.ML.Tokenizers;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>
/// What the MCP server costs an agent's context window, in tokens (o200k_base, the tokenizer of GPT-4o and later; other
/// models' tokenizers land within a few per cent): the tool list every session starts with, and a 50-row find_tasks
/// page. Each budget is the size measured when it was set plus about 10 %: growing past it fails, so that a longer
/// description or a new field is a decision, not an accident. The README states the figures.
/// </summary>
public sealed class TokenBudgetTests(AppFixture app)
{
    private static readonly Tokenizer Tokens = TiktokenTokenizer.CreateForModel("gpt-4o");

    [Theory]
    // 3,906 tokens (16,680 characters) on 2026-12-03 with the lease tools (heartbeat 123, release_task 276) and create_plan
    // (395); about 410 of them are the output schemas of the four tools with structured results (find_tasks,
    // find_projects, task_history, add_comment).
    [InlineData("all", 4_300)]
    [InlineData("core", 2_550)]      // 2,302 (9,845)
    [InlineData("read-only", 1_300)] // 1,181 (4,857)
    public async Task The_tool_list_of_each_tool_set_stays_within_its_budget(string toolSet, int budget)
    {
        await using var factory = new McpFactory(app.App.GetEndpoint("api", "http"), new Dictionary<string, string> { ["Mcp:ToolSet"] = toolSet });
        await using var client = await factory.ConnectAsync(app.AdminToken);

        var tools = await client.ListToolsAsync(cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        var json = JsonSerializer.Serialize(tools.Select(t => t.ProtocolTool), McpJsonUtilities.DefaultOptions);
        // Where the tokens go, for whoever has to bring a list back within its budget.
        var sizes = tools.Select(t => (t.Name, Tokens: Tokens.CountTokens(JsonSerializer.Serialize(t.ProtocolTool, McpJsonUtilities.DefaultOptions))));
        foreach (var (name, size) in sizes.OrderByDescending(s => s.Tokens))
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"  {name}: {size:N0} tokens");
        }

        AssertWithin($"tools/list ({toolSet}, {tools.Count} tools)", json, budget);
    }

    [Fact]
    public async Task A_page_of_50_tasks_from_find_tasks_stays_within_its_budget()
    {
        var api = app.CreateApiClient();
        var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
        for (var i = 1; i <= 50; i++)
        {
            await api.CreateTaskAsync(key, $"Add paging to the orders endpoint, part {i}",
                new { labels = new[] { "backend", "api" }, assignee = i % 3 == 0 ? "claude-code" : null, priority = i % 4 == 0 ? "high" : "medium" });
        }
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = app.McpEndpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {app.AdminToken}" },
        }), cancellationToken: TestHelpers.Ct).Timeout();

        var page = await client.CallToolAsync("find_tasks", new Dictionary<string, object?> { ["project"] = key, ["limit"] = 50 },
            cancellationToken: TestHelpers.Ct).AsTask().Timeout();
        Assert.False(page.IsError is true);
        // What reaches the model: the result's text (on the wire it is a JSON string, escaped, and longer).
        var text = string.Join("\n", page.Content.OfType<TextContentBlock>().Select(c => c.Text));

        Assert.Contains($"{key}-50", text);
        AssertWithin("find_tasks, 50 rows", text, 2_900); // 2,617 to 2,667 tokens (9,269 characters; the project key varies) on 2026-12-03
    }

    private static void AssertWithin(string what, string json, int budget)
    {
        var tokens = Tokens.CountTokens(json);
        var line = $"{what}: {tokens:N0} tokens, {json.Length:N0} characters (budget {budget:N0} tokens)";
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Assert.True(tokens <= budget, line);
    }
}
