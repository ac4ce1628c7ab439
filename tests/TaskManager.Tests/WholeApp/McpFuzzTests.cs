using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.WholeApp;

/// <summary>
/// A bounded, repeatable fuzz run over the AppHost's MCP server, as raw JSON-RPC over Streamable HTTP: malformed
/// envelopes, and tool calls whose arguments are of every wrong kind. No answer may be a 5xx; a tool call that fails
/// must come back as a result with isError (or a JSON-RPC error) that says what was wrong, never the SDK's generic
/// "An error occurred invoking" (an exception the tool did not expect).
/// </summary>
public sealed class McpFuzzTests(AppFixture app)
{
    private const int Seed = 9;
    private const int Requests = 200;

    /// <summary>
    /// The SDK's text for an exception a tool let escape ("An error occurred invoking 'x'.", where an McpException the
    /// tool threw on purpose reads "…invoking 'x': what was wrong"): a crash, not an answer.
    /// </summary>
    private static readonly System.Text.RegularExpressions.Regex Crash = new(@"An error occurred invoking '[^']*'\.");

    private readonly HttpClient _mcp = AppFixture.Authorize(new HttpClient(), app.AdminToken);

    private sealed record ToolSchema(string Name, Dictionary<string, string[]> Arguments);

    [Fact]
    public async Task Two_hundred_malformed_JSON_RPC_requests_and_tool_calls_get_no_5xx_and_no_crash()
    {
        var api = app.CreateApiClient();
        var key = (await api.CreateProjectAsync()).GetProperty("key").GetString()!;
        var refs = new List<string>();
        foreach (var title in new[] { "First", "Second" })
        {
            refs.Add((await api.CreateTaskAsync(key, title)).GetProperty("ref").GetString()!);
        }
        var tools = await ListToolsAsync();
        var random = new Random(Seed);
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();

        for (var i = 0; i < Requests; i++)
        {
            var body = random.Next(3) == 0 ? Envelope(random, key) : Encoding.UTF8.GetBytes(ToolCall(random, tools, key, refs, i));
            var (status, messages) = await PostAsync(body);
            var request = Shorten(Encoding.UTF8.GetString(body));
            if (status >= 500)
            {
                failures.Add($"#{i}: {request} -> HTTP {status} {Shorten(string.Join(" ", messages))}");
            }
            foreach (var message in messages.Where(IsCrash))
            {
                failures.Add($"#{i}: {request} -> {Shorten(message)}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} problems in {Requests} requests (seed {Seed}):\n{string.Join("\n", failures)}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"The fuzz run took {clock.Elapsed}; it must stay bounded.");
    }

    [Fact]
    public async Task Each_malformed_JSON_RPC_message_gets_a_JSON_RPC_error_or_a_4xx()
    {
        var key = (await app.CreateApiClient().CreateProjectAsync()).GetProperty("key").GetString()!;
        var failures = new List<string>();

        foreach (var body in Envelopes(key))
        {
            var (status, messages) = await PostAsync(body);
            var request = Shorten(Encoding.UTF8.GetString(body));
            if (status >= 500 || messages.Any(IsCrash))
            {
                failures.Add($"{request} -> HTTP {status} {Shorten(string.Join(" ", messages))}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task A_body_that_is_not_UTF8_gets_a_parse_error_that_says_so()
    {
        var (status, messages) = await PostAsync(Latin1(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_task\",\"arguments\":{\"task\":\"A\u00FF\"}}}"));

        Assert.Equal(400, status);
        var error = JsonDocument.Parse(Assert.Single(messages)).RootElement.GetProperty("error");
        Assert.Equal(-32700, error.GetProperty("code").GetInt32());
        Assert.Contains("not valid UTF-8", error.GetProperty("message").GetString());
    }

    /// <summary>An internal error (-32603), or a tool result that is the SDK's report of an exception the tool let escape.</summary>
    private static bool IsCrash(string message)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(message).RootElement;
        }
        catch (JsonException)
        {
            // A plain-text 4xx of the HTTP transport (e.g. "Bad Request: …"): its status was checked already.
            return false;
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        if (root.TryGetProperty("error", out var error))
        {
            return error.TryGetProperty("code", out var code) && code.GetInt32() == -32603;
        }
        return root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object
            && result.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            && content.EnumerateArray().Any(c => c.TryGetProperty("text", out var text) && Crash.IsMatch(text.GetString() ?? ""));
    }

    /// <summary>Each tool and the JSON types of its arguments, from tools/list.</summary>
    private async Task<ToolSchema[]> ListToolsAsync()
    {
        var (status, messages) = await PostAsync(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}"""));
        Assert.Equal(200, status);
        var tools = JsonDocument.Parse(messages.Single()).RootElement.GetProperty("result").GetProperty("tools");
        return
        [
            .. tools.EnumerateArray().Select(tool => new ToolSchema(tool.GetProperty("name").GetString()!,
                tool.GetProperty("inputSchema").TryGetProperty("properties", out var properties)
                    ? properties.EnumerateObject().ToDictionary(p => p.Name, p => Types(p.Value))
                    : [])),
        ];
    }

    private static string[] Types(JsonElement schema) =>
        !schema.TryGetProperty("type", out var type) ? ["string"]
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!).Where(t => t != "null")]
        : [type.GetString()!];

    /// <summary>A tools/call whose arguments are plausible, with some replaced, dropped, added or of the wrong kind.</summary>
    private static string ToolCall(Random random, ToolSchema[] tools, string key, List<string> refs, int id)
    {
        var tool = tools[random.Next(tools.Length)];
        var arguments = new List<string>();
        foreach (var (name, types) in tool.Arguments)
        {
            // Without its project, a claim takes any ready task: one another test is counting on.
            if (tool.Name == "claim_next_task" && name == "project")
            {
                arguments.Add($"\"project\":\"{key}\"");
                continue;
            }
            var roll = random.Next(10);
            if (roll < 3)
            {
                continue;
            }
            arguments.Add($"\"{name}\":{(roll < 7 ? Plausible(random, name, types, key, refs) : HostileValues.Value(random))}");
        }
        if (random.Next(5) == 0 && tool.Name != "claim_next_task")
        {
            arguments.Add($"\"{(random.Next(2) == 0 ? "unknown" : tool.Arguments.Keys.FirstOrDefault() ?? "x")}\":{HostileValues.Value(random)}");
        }
        var argumentsJson = random.Next(15) switch
        {
            0 => HostileValues.Value(random),
            _ => "{" + string.Join(',', arguments) + "}",
        };
        var name2 = random.Next(20) == 0 ? HostileValues.Value(random) : $"\"{tool.Name}\"";
        return $$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":{{{name2}}},"arguments":{{{argumentsJson}}}}}""";
    }

    private static string Plausible(Random random, string name, string[] types, string key, List<string> refs)
    {
        string S(string text) => JsonSerializer.Serialize(text);
        return types.FirstOrDefault() switch
        {
            "integer" or "number" => random.Next(3) switch { 0 => "1", 1 => "0", _ => "-5" },
            "boolean" => random.Next(2) == 0 ? "true" : "false",
            "array" => $"[{S(random.Next(2) == 0 ? "x" : HostileValues.Text(random, 5))}]",
            _ => name switch
            {
                "project" => S(key),
                "task" or "blocker" or "parent" or "before" or "after" => S(refs[random.Next(refs.Count)]),
                "action" => S(new[] { "create", "update", "move", "archive", "restore", "add", "remove", "delete" }[random.Next(8)]),
                "status" => S(new[] { "todo", "doing", "review", "done", "blocked" }[random.Next(5)]),
                "key" => S(TestHelpers.NewProjectKey()),
                _ => S(random.Next(2) == 0 ? "Fuzzed" : HostileValues.Text(random, random.Next(1, 20))),
            },
        };
    }

    /// <summary>Messages malformed as JSON, as JSON-RPC or as MCP requests, each sent once and also among the fuzzed ones.</summary>
    private static byte[][] Envelopes(string key) =>
    [
        .. new string[]
            {
                "", "{", "[]", "[{}]", "null", "42", "\"tools/list\"", "{}",
                """{"jsonrpc":"1.0","id":1,"method":"tools/list"}""",
                """{"jsonrpc":"2.0","id":1}""",
                """{"jsonrpc":"2.0","id":1,"method":42}""",
                """{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}""",
                """{"jsonrpc":"2.0","id":[1],"method":"tools/list"}""",
                """{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}""",
                """{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/list"}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"}""",
                """{"jsonrpc":"2.0","id":1,"method":"no/such/method"}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/call"}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":42}}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_task","arguments":[]}}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_task","arguments":"WEB-1"}}""",
                """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_task","arguments":{"task":"a","task":"b"}}}""",
                """{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_task","arguments":{"task":"WEB-1"}}}""",
                """{"jsonrpc":"2.0","id":1,"result":{}}""",
                """{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}""",
                """{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"taskmanager://../../etc/passwd"}}""",
                """{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":42}}""",
                """{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"no_such_prompt"}}""",
                """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1900-01-01","capabilities":[],"clientInfo":42}}""",
                """[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"find_tasks","arguments":{"project":"KEY"}}}]""".Replace("KEY", key),
            }.Select(Encoding.UTF8.GetBytes),
        // Not UTF-8: a byte FF inside a property name, and inside a string value.
        Latin1("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"find_tasks\",\"argu\u00FFments\":{}}}"),
        Latin1("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_task\",\"arguments\":{\"task\":\"A\u00FF\"}}}"),
        Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"find_tasks","argumentsX":{}}}"""),
    ];

    /// <summary>Each character as one byte, so that U+00FF in the text is the byte FF on the wire.</summary>
    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>A JSON-RPC message that is malformed as JSON, as JSON-RPC or as an MCP request.</summary>
    private static byte[] Envelope(Random random, string key)
    {
        return random.Next(5) switch
        {
            0 => HostileValues.Bytes(random, random.Next(1, 100)),
            1 => Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{{HostileValues.Nested(random.Next(2) == 0 ? 65 : 3_001)}}}}"""),
            2 => HostileValues.Corrupt(random, Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"find_tasks","arguments":{"project":"KEY"}}}""".Replace("KEY", key))),
            _ => Envelopes(key)[random.Next(Envelopes(key).Length)],
        };
    }

    /// <summary>Posts one JSON-RPC body as a Streamable HTTP client does; returns the status and the JSON-RPC messages.</summary>
    private async Task<(int Status, string[] Messages)> PostAsync(byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, app.McpEndpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await _mcp.SendAsync(request, TestHelpers.Ct).Timeout();
        var text = await response.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout();
        var messages = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
            ? text.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].Trim()).ToArray()
            : text.Length == 0 ? [] : [text];
        return ((int)response.StatusCode, messages);
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + $"… ({text.Length} characters)" : text;
}
