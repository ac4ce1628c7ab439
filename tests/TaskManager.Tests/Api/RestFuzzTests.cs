using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// A bounded, repeatable fuzz run over the REST api on real Kestrel: valid requests to the main endpoints, each mutated
/// (wrong types, numbers no type holds, deep nesting, huge arrays, hostile text, broken bytes, bad paths and queries),
/// must never get a 5xx. A failure prints the requests that got one, which replay with the same seed.
/// </summary>
public sealed class RestFuzzTests(AppFixture app)
{
    private const int Seed = 9;
    private const int Requests = 400;

    private readonly HttpClient _client = app.Loopback.CreateApiClient();

    /// <summary>A valid request: the body's fields as raw JSON text, so that mutations can put anything in them.</summary>
    private sealed record Template(string Method, string Path, Dictionary<string, string>? Fields = null, string[]? Query = null)
    {
        /// <summary>Fields a mutation must leave alone: without <c>project</c>, a claim takes a task of another test.</summary>
        public string[] Kept { get; init; } = [];
    }

    private sealed record FuzzRequest(string Method, string Path, byte[]? Body, string ContentType, (string Name, string Value)[] Headers)
    {
        public override string ToString()
        {
            var body = Body is null ? "" : Encoding.UTF8.GetString(Body);
            return $"{Method} {Shorten(Path)} [{string.Join(", ", Headers.Select(h => $"{h.Name}: {Shorten(h.Value)}"))}] " +
                $"{ContentType} {Shorten(body)}";
        }
    }

    [Fact]
    public async Task Four_hundred_mutated_requests_over_Kestrel_get_no_5xx()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        var refs = new List<string>();
        foreach (var title in new[] { "First", "Second", "Third" })
        {
            refs.Add((await _client.CreateTaskAsync(key, title, new { labels = new[] { "x" } })).GetProperty("ref").GetString()!);
        }
        var templates = Templates(key, refs);
        var random = new Random(Seed);
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();

        for (var i = 0; i < Requests; i++)
        {
            var request = Mutate(random, templates[random.Next(templates.Length)], refs);
            var (status, body) = await SendAsync(request);
            if (status >= 500)
            {
                failures.Add($"#{i}: {request} -> {status} {Shorten(body)}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {Requests} requests (seed {Seed}) got a 5xx:\n{string.Join("\n", failures)}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"The fuzz run took {clock.Elapsed}; it must stay bounded.");
    }

    private static Template[] Templates(string key, List<string> refs)
    {
        string S(string text) => System.Text.Json.JsonSerializer.Serialize(text);
        return
        [
            new("POST", "/api/projects", new() { ["key"] = S("{newkey}"), ["title"] = S("Fuzzed"), ["description"] = S("d"), ["pinned"] = "false" }),
            new("PATCH", $"/api/projects/{key}", new() { ["title"] = S("Renamed"), ["description"] = S("d"), ["pinned"] = "true" }),
            new("GET", "/api/projects", Query: ["q=Fuzz", "limit=5", "includeArchived=true"]),
            new("POST", "/api/tasks", new()
            {
                ["project"] = S(key), ["title"] = S("Fuzzed"), ["description"] = S("*md*"), ["status"] = S("todo"), ["priority"] = S("high"),
                ["assignee"] = S("fuzz"), ["labels"] = "[\"x\",\"y\"]", ["dueDate"] = S("2026-12-24"), ["parent"] = S(refs[0]),
            }),
            new("PATCH", $"/api/tasks/{refs[1]}", new()
            {
                ["title"] = S("Patched"), ["status"] = S("doing"), ["priority"] = S("low"), ["assignee"] = "null", ["labels"] = "[]",
                ["dueDate"] = "null", ["parent"] = "null",
            }),
            new("POST", $"/api/tasks/{refs[2]}/move", new() { ["status"] = S("review"), ["before"] = S(refs[0]) }),
            new("POST", $"/api/tasks/{refs[0]}/comments", new() { ["body"] = S("Progress") }),
            new("POST", "/api/tasks/claim", new() { ["project"] = S(key), ["labels"] = "[\"x\"]", ["priority"] = "[\"high\"]", ["assignee"] = S("fuzz") })
            {
                Kept = ["project"],
            },
            new("POST", $"/api/tasks/{refs[1]}/blockers", new() { ["blocker"] = S(refs[2]) }),
            new("POST", $"/api/tasks/{refs[2]}/archive"),
            new("POST", $"/api/tasks/{refs[2]}/restore"),
            new("GET", "/api/tasks", Query: [$"project={key}", "status=todo", "priority=high", "assignee=fuzz", "label=x", "q=F", "ready=true", "limit=10"]),
            new("GET", $"/api/tasks/{refs[0]}", Query: []),
            new("GET", $"/api/tasks/{refs[0]}/history", Query: ["limit=3"]),
            new("GET", $"/api/tasks/{refs[0]}/comments", Query: ["limit=3", "order=desc"]),
        ];
    }

    private static FuzzRequest Mutate(Random random, Template template, List<string> refs)
    {
        var fields = template.Fields is null ? null : new List<(string Name, string Value)>(template.Fields.Select(f => (f.Key, f.Value)));
        var path = template.Path;
        var query = template.Query?.ToList();
        var headers = new List<(string, string)>();
        var contentType = "application/json";
        byte[]? raw = null;
        var mutable = fields?.Select((f, i) => (f.Name, i)).Where(f => !template.Kept.Contains(f.Name)).Select(f => f.i).ToArray() ?? [];

        for (var n = random.Next(1, 4); n > 0; n--)
        {
            switch (random.Next(12))
            {
                case 0 or 1 or 2 when mutable.Length > 0:
                    var at = mutable[random.Next(mutable.Length)];
                    fields![at] = (fields[at].Name, HostileValues.Value(random));
                    break;
                case 3 when mutable.Length > 0:
                    var removed = fields![mutable[random.Next(mutable.Length)]].Name;
                    fields.RemoveAll(f => f.Name == removed);
                    mutable = [.. fields.Select((f, i) => (f.Name, i)).Where(f => !template.Kept.Contains(f.Name)).Select(f => f.i)];
                    break;
                case 4 when fields is not null:
                    // A field twice (with another value), or one the endpoint does not have.
                    fields.Add(random.Next(2) == 0 && mutable.Length > 0
                        ? (fields[mutable[random.Next(mutable.Length)]].Name, HostileValues.Value(random))
                        : ("unknown", "1"));
                    break;
                case 5 when fields is not null:
                    raw = HostileValues.Corrupt(random, Serialize(fields));
                    break;
                case 6 when fields is not null && template.Kept.Length == 0:
                    raw = random.Next(3) switch
                    {
                        0 => HostileValues.Bytes(random, random.Next(0, 200)),
                        1 => Encoding.UTF8.GetBytes(HostileValues.Value(random)),
                        _ => Encoding.UTF8.GetBytes(HostileValues.Nested(random.Next(2) == 0 ? 65 : 5_001)),
                    };
                    break;
                case 7 when path.Count(c => c == '/') > 2:
                    var segments = path.Split('/');
                    segments[random.Next(3, segments.Length)] = HostileValues.UrlPart(random);
                    path = string.Join('/', segments);
                    break;
                case 8 when query is not null:
                    var name = new[] { "limit", "cursor", "q", "project", "status", "priority", "ready", "order", "label", "x" }[random.Next(10)];
                    query.Add($"{name}={HostileValues.UrlPart(random)}");
                    break;
                case 9:
                    headers.Add(random.Next(3) switch
                    {
                        0 => ("If-Match", new[] { "\"1\"", "\"1e400\"", "*", "W/\"1\"", "\"-1\"", "\"\"", "garbage" }[random.Next(7)]),
                        1 => ("Idempotency-Key", new string('k', random.Next(1, 300))),
                        _ => ("Accept", new[] { "application/xml", "*/*;q=2", "text/event-stream", "" }[random.Next(4)]),
                    });
                    break;
                case 10:
                    contentType = new[] { "text/plain", "application/json; charset=utf-16", "application/json; charset=klingon", "application/json; charset=\"utf-8\"", "application/problem+json", "" }[random.Next(6)];
                    break;
                default:
                    if (fields is not null && mutable.Length > 0)
                    {
                        var text = mutable[random.Next(mutable.Length)];
                        fields[text] = (fields[text].Name, System.Text.Json.JsonSerializer.Serialize(HostileValues.Text(random, random.Next(1, 30))));
                    }
                    break;
            }
        }

        var target = path.Replace("{newkey}", TestHelpers.NewProjectKey()) + (query is { Count: > 0 } ? "?" + string.Join('&', query) : "");
        var body = raw ?? (fields is null ? null : Serialize(fields));
        return new(template.Method, target, body, contentType, [.. headers]);
    }

    private static byte[] Serialize(List<(string Name, string Value)> fields) =>
        Encoding.UTF8.GetBytes("{" + string.Join(',', fields.Select(f => $"\"{f.Name}\":{f.Value.Replace("{newkey}", TestHelpers.NewProjectKey())}")) + "}");

    private async Task<(int Status, string Body)> SendAsync(FuzzRequest fuzz)
    {
        using var request = new HttpRequestMessage(new HttpMethod(fuzz.Method), fuzz.Path);
        if (fuzz.Body is not null)
        {
            request.Content = new ByteArrayContent(fuzz.Body);
            if (MediaTypeHeaderValue.TryParse(fuzz.ContentType, out _) || fuzz.ContentType.Length == 0)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", fuzz.ContentType);
            }
        }
        foreach (var (name, value) in fuzz.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        // Headers first: a request that reached the event stream would never end; its status is all this test needs.
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();
        var body = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
            ? ""
            : await response.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout();
        return ((int)response.StatusCode, body);
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + $"… ({text.Length} characters)" : text;
}
