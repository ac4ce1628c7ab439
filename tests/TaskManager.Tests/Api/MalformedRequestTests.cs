using System.Text;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// A corpus of malformed requests against every api endpoint. Each must be refused with a 4xx problem
/// (<c>application/problem+json</c>), never a 5xx or a bare error; where the problem can name the offending field
/// (<c>errors</c> of a validation problem, or <c>field</c> such as <c>$.status</c> of a JSON binding problem), it does.
/// Sent over a real socket to the api on Kestrel, as production receives them: the test server skips Kestrel's own
/// parsing, and its client cannot even carry some of these requests.
/// </summary>
public sealed class MalformedRequestTests(AppFixture app)
{
    private readonly HttpClient _client = app.Loopback.CreateApiClient();

    /// <summary>
    /// One malformed request. <see cref="Url"/> and <see cref="Body"/> may hold placeholders filled per test:
    /// <c>{key}</c> (the test's own project), <c>{task}</c> (its task <c>KEY-1</c>) and <c>{long}</c> (500 characters).
    /// </summary>
    public sealed record Case(string Method, string Url, string? Body = null, string? Field = null, int? Status = null)
    {
        public string ContentType { get; init; } = "application/json";

        public (string Name, string Value)[] Headers { get; init; } = [];

        /// <summary>
        /// Kestrel refuses it (a path holding <c>%00</c>) with a bare 400 before any application code runs, so there is no
        /// problem body to check.
        /// </summary>
        public bool RefusedByKestrel { get; init; }

        /// <summary>The case's name: not its record-generated text, which would print 10,000-character bodies.</summary>
        public override string ToString() => $"{Method} {Url}";
    }

    private static readonly Dictionary<string, Case> Corpus = BuildCorpus();

    /// <summary>Rows are the cases' names: readable in test results, and serializable so each is its own test.</summary>
    public static TheoryData<string> Cases => new(Corpus.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_requests_get_a_4xx_problem_never_a_5xx(string request)
    {
        var malformed = Corpus[request];
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _client.CreateTaskAsync(key, "The task the routes point at");

        using var response = await SendAsync(malformed, key);

        var status = (int)response.StatusCode;
        if (malformed.RefusedByKestrel)
        {
            Assert.Equal(400, status);
            return;
        }
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        // An event stream never ends: only read bodies that are not one.
        var body = mediaType == "text/event-stream"
            ? "(an open event stream)"
            : await response.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout();
        Assert.True(status is >= 400 and < 500 && mediaType == "application/problem+json",
            $"Expected a 4xx application/problem+json, got {status} {mediaType ?? "(no content type)"}: " +
            (body.Length == 0 ? "(no body)" : body.Length > 600 ? body[..600] + "…" : body));
        await response.AssertProblemAsync(malformed.Status ?? status, malformed.Field);
    }

    private Task<HttpResponseMessage> SendAsync(Case malformed, string key)
    {
        var url = Fill(malformed.Url, key);
        var body = malformed.Body is null ? null : Fill(malformed.Body, key);
        var ifMatch = malformed.Headers.Where(h => h.Name == "If-Match").Select(h => h.Value).FirstOrDefault();
        if (body is not null && malformed.ContentType == "application/json" && malformed.Headers.All(h => h.Name == "If-Match"))
        {
            return _client.SendRawAsync(new HttpMethod(malformed.Method), url, body, ifMatch);
        }

        var request = new HttpRequestMessage(new HttpMethod(malformed.Method), url);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, malformed.ContentType);
        }
        foreach (var (name, value) in malformed.Headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value), $"Could not send header {name}.");
        }
        // Headers only: a request the api wrongly accepts on /api/events would otherwise never finish.
        return _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestHelpers.Ct).Timeout();
    }

    private static string Fill(string text, string key) =>
        text.Replace("{task}", $"{key}-1").Replace("{key}", key).Replace("{long}", Long);

    private static readonly string Long = new('W', 500);

    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>A cursor as the api encodes them (url-safe base64), around whatever text is given.</summary>
    private static string Cursor(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Dictionary<string, Case> BuildCorpus()
    {
        var cases = new Dictionary<string, Case>(StringComparer.Ordinal);

        // Named after the method, the route (without its query) and what is wrong with the request.
        void Add(string what, Case malformed, string? route = null) =>
            cases.Add($"{malformed.Method} {route ?? malformed.Url.Split('?')[0]}: {what}", malformed);

        var title10K = Json(new string('t', 10_000));
        var label1K = $"[{Json(new string('l', 1000))}]";
        var labels300 = $"[{string.Join(',', Enumerable.Range(0, 300).Select(i => $"\"l{i}\""))}]";

        // Bad JSON, against every endpoint that reads a body. Each names one of the endpoint's own string fields.
        var bodies = new (string Method, string Url, string Field)[]
        {
            ("POST", "/api/projects", "title"),
            ("PATCH", "/api/projects/{key}", "title"),
            ("POST", "/api/tasks", "title"),
            ("POST", "/api/tasks/claim", "project"),
            ("PATCH", "/api/tasks/{task}", "title"),
            ("POST", "/api/tasks/{task}/move", "before"),
            ("POST", "/api/tasks/{task}/blockers", "blocker"),
            ("POST", "/api/tasks/{task}/comments", "body"),
            ("POST", "/api/tokens", "name"),
        };
        foreach (var (method, url, field) in bodies)
        {
            Add("empty body", new(method, url, ""));
            Add("truncated JSON", new(method, url, $$"""{"{{field}}":"x" """));
            Add("JSON cut off after a comma", new(method, url, $$"""{"{{field}}":"x","""));
            Add("a JSON string instead of an object", new(method, url, "\"x\"", Field: "$"));
            Add("null instead of an object", new(method, url, "null"));
            Add("an empty array instead of an object", new(method, url, "[]", Field: "$"));
            Add("an array of objects instead of an object", new(method, url, $$"""[{"{{field}}":"x"}]""", Field: "$"));
            Add("JSON sent as text/plain", new(method, url, $$"""{"{{field}}":"x"}""", Status: 415) { ContentType = "text/plain" });
        }
        foreach (var (method, url) in new[] { ("POST", "/api/tasks"), ("PATCH", "/api/tasks/{task}") })
        {
            Add("whitespace body", new(method, url, " \n\t "));
            Add("a JSON number instead of an object", new(method, url, "42", Field: "$"));
            Add("not JSON at all", new(method, url, "<task><title>x</title></task>"));
            Add("single-quoted JSON", new(method, url, "{'title':'x'}"));
            Add("a trailing comma", new(method, url, """{"title":"x",}"""));
            Add("a comment in the JSON", new(method, url, """{"title":"x" /* why not */}"""));
            Add("text after the object", new(method, url, """{"title":"x"} {"title":"y"}"""));
            Add("a lone UTF-16 surrogate escape", new(method, url, """{"title":"\ud800"}"""));
            Add("a form instead of JSON", new(method, url, "title=x", Status: 415) { ContentType = "application/x-www-form-urlencoded" });
        }

        // Route references that are not task references, against every task route.
        var badRefs = new (string What, string Value)[]
        {
            ("'not-a-ref'", "not-a-ref"),
            ("'WEB-0'", "WEB-0"),
            ("'WEB--1'", "WEB--1"),
            ("500 characters", "{long}"),
            ("'%00'", "%00"),
            ("'%20'", "%20"),
        };
        var taskRoutes = new (string Method, string Url, string? Body)[]
        {
            ("GET", "/api/tasks/{ref}", null),
            ("PATCH", "/api/tasks/{ref}", """{"title":"x"}"""),
            ("POST", "/api/tasks/{ref}/move", """{"status":"doing"}"""),
            ("POST", "/api/tasks/{ref}/archive", null),
            ("POST", "/api/tasks/{ref}/restore", null),
            ("GET", "/api/tasks/{ref}/blockers", null),
            ("POST", "/api/tasks/{ref}/blockers", """{"blocker":"{task}"}"""),
            ("DELETE", "/api/tasks/{ref}/blockers/{task}", null),
            ("DELETE", "/api/tasks/{task}/blockers/{ref}", null),
            ("GET", "/api/tasks/{ref}/comments", null),
            ("POST", "/api/tasks/{ref}/comments", """{"body":"x"}"""),
            ("GET", "/api/tasks/{ref}/history", null),
        };
        foreach (var (method, url, body) in taskRoutes)
        {
            // In DELETE .../blockers/{ref} the bad reference is the blocker's, a validation error on that field.
            var field = url.EndsWith("/blockers/{ref}", StringComparison.Ordinal) ? "blocker" : null;
            foreach (var (what, value) in badRefs)
            {
                Add($"{field ?? "task"} ref {what}", new(method, url.Replace("{ref}", value), body, field, Status: 400)
                {
                    RefusedByKestrel = value == "%00",
                }, url);
            }
        }

        // Project routes: anything that is not an existing project's key or id is unknown.
        var projectRoutes = new (string Method, string Url, string? Body)[]
        {
            ("GET", "/api/projects/{ref}", null),
            ("PATCH", "/api/projects/{ref}", """{"title":"x"}"""),
            ("POST", "/api/projects/{ref}/archive", null),
            ("POST", "/api/projects/{ref}/restore", null),
            ("GET", "/api/projects/{ref}/history", null),
        };
        foreach (var (method, url, body) in projectRoutes)
        {
            foreach (var (what, value) in badRefs.Where(r => r.Value != "WEB-0"))
            {
                Add($"project ref {what}", new(method, url.Replace("{ref}", value), body) { RefusedByKestrel = value == "%00" }, url);
            }
        }

        // Token ids must be GUIDs.
        foreach (var (what, value) in badRefs)
        {
            // Kestrel refuses a path holding %00 with a 400 before routing; any other non-GUID matches no route.
            Add($"token id {what}", new("DELETE", $"/api/tokens/{value}", Status: value == "%00" ? 400 : 404)
            {
                RefusedByKestrel = value == "%00",
            }, "/api/tokens/{id}");
        }
        Add("an unknown token id", new("DELETE", $"/api/tokens/{Guid.Empty}", Status: 404), "/api/tokens/{id}");

        // Methods a route does not have.
        Add("PUT is not a method of tasks", new("PUT", "/api/tasks/{task}", """{"title":"x"}""", Status: 405));
        Add("projects cannot be deleted", new("DELETE", "/api/projects/{key}", Status: 405));
        Add("the task list cannot be patched", new("PATCH", "/api/tasks", """{"title":"x"}""", Status: 405));

        // Paging and query parameters of every list.
        var lists = new[]
        {
            "/api/projects?",
            "/api/tasks?project={key}&",
            "/api/tasks/{task}/comments?",
            "/api/tasks/{task}/history?",
            "/api/projects/{key}/history?",
        };
        foreach (var list in lists)
        {
            Add("limit=0", new("GET", list + "limit=0", Field: "limit", Status: 400));
            Add("limit=-1", new("GET", list + "limit=-1", Field: "limit", Status: 400));
            Add("limit=99999", new("GET", list + "limit=99999", Field: "limit", Status: 400));
            Add("limit=abc", new("GET", list + "limit=abc", Status: 400));
            Add("limit=99999999999 (overflows)", new("GET", list + "limit=99999999999", Status: 400));
            Add("cursor=garbage", new("GET", list + "cursor=garbage", Field: "cursor", Status: 400));
            Add("cursor=base64 of junk", new("GET", list + "cursor=" + Cursor("\u00ff junk \n\n no"), Field: "cursor", Status: 400));
            Add("cursor=base64 of a cursor of another version", new("GET", list + "cursor=" + Cursor("v9\n1\n2"), Field: "cursor", Status: 400));
            Add("cursor=percent-junk", new("GET", list + "cursor=%25%25%25", Field: "cursor", Status: 400));
            Add("an unknown query parameter", new("GET", list + "sort=title", Field: "sort", Status: 400));
        }
        Add("cursor=a cursor whose key holds NUL", new("GET", "/api/projects?cursor=" + Cursor("v1\n0\n\0"), Field: "cursor"));
        Add("cursor=a cursor whose position is not a number", new("GET", "/api/tasks?cursor=" + Cursor($"v1\n.\n{Guid.Empty}"), Field: "cursor"));
        Add("includeArchived=2", new("GET", "/api/projects?includeArchived=2", Status: 400));
        Add("includeArchived=2", new("GET", "/api/tasks?project={key}&includeArchived=2", Status: 400));
        Add("ready=maybe", new("GET", "/api/tasks?project={key}&ready=maybe", Status: 400));
        Add("status=started", new("GET", "/api/tasks?project={key}&status=started", Field: "status", Status: 400));
        Add("status=2 (numeric)", new("GET", "/api/tasks?project={key}&status=2", Field: "status", Status: 400));
        Add("priority=urgent", new("GET", "/api/tasks?project={key}&priority=urgent", Field: "priority", Status: 400));
        Add("priority=0 (numeric)", new("GET", "/api/tasks?project={key}&priority=0", Field: "priority", Status: 400));
        Add("parent=not-a-ref", new("GET", "/api/tasks?project={key}&parent=not-a-ref", Field: "parent", Status: 400));
        Add("parent=WEB--1", new("GET", "/api/tasks?project={key}&parent=WEB--1", Field: "parent", Status: 400));
        Add("project=unknown", new("GET", "/api/tasks?project=NOSUCHPROJ", Field: "project", Status: 400));
        Add("project=%00", new("GET", "/api/tasks?project=%00", Field: "project"));
        Add("q=%00", new("GET", "/api/tasks?project={key}&q=%00"));
        Add("q=%00", new("GET", "/api/projects?q=%00"));

        // Projects: bodies.
        Add("key is a number", new("POST", "/api/projects", """{"key":12,"title":"x"}""", "$.key", 400));
        Add("title is an array", new("POST", "/api/projects", """{"key":"ABCD","title":["x"]}""", "$.title", 400));
        Add("pinned is a string", new("POST", "/api/projects", """{"key":"ABCD","title":"x","pinned":"yes"}""", "$.pinned", 400));
        Add("pinned is an object", new("POST", "/api/projects", """{"key":"ABCD","title":"x","pinned":{}}""", "$.pinned", 400));
        Add("description is a boolean", new("POST", "/api/projects", """{"key":"ABCD","title":"x","description":true}""", "$.description", 400));
        Add("an unknown field", new("POST", "/api/projects", """{"key":"ABCD","title":"x","owner":"me"}""", "$.owner", 400));
        Add("a 10,000-character title", new("POST", "/api/projects", $$"""{"key":"ABCD","title":{{title10K}}}""", "title", 400));
        Add("a 10,000-character key", new("POST", "/api/projects", $$"""{"key":{{Json(new string('K', 10_000))}},"title":"x"}""", "key", 400));
        Add("a title holding NUL", new("POST", "/api/projects", """{"key":"{key}X","title":"a\u0000b"}""", "$.title"));
        Add("Idempotency-Key of 500 characters", new("POST", "/api/projects", """{"key":"{key}Y","title":"x"}""", "Idempotency-Key", 400)
        {
            Headers = [("Idempotency-Key", new string('k', 500))],
        });
        Add("title is a number", new("PATCH", "/api/projects/{key}", """{"title":5}""", "$.title", 400));
        Add("pinned is a string", new("PATCH", "/api/projects/{key}", """{"pinned":"yes"}""", "$.pinned", 400));
        Add("pinned is an object", new("PATCH", "/api/projects/{key}", """{"pinned":{"value":true}}""", "$.pinned", 400));
        Add("pinned is null", new("PATCH", "/api/projects/{key}", """{"pinned":null}""", "pinned", 400));
        Add("key is changed", new("PATCH", "/api/projects/{key}", """{"key":"OTHER"}""", "key", 400));
        Add("an unknown field", new("PATCH", "/api/projects/{key}", """{"archived":true}""", "$.archived", 400));
        Add("a 10,000-character title", new("PATCH", "/api/projects/{key}", $$"""{"title":{{title10K}}}""", "title", 400));
        Add("a description holding NUL", new("PATCH", "/api/projects/{key}", """{"description":"a\u0000b"}""", "$.description"));

        // Tasks: bodies.
        Add("status is unknown", new("POST", "/api/tasks", """{"project":"{key}","title":"x","status":"started"}""", "$.status", 400));
        Add("status is numeric", new("POST", "/api/tasks", """{"project":"{key}","title":"x","status":2}""", "$.status", 400));
        Add("priority is unknown", new("POST", "/api/tasks", """{"project":"{key}","title":"x","priority":"urgent"}""", "$.priority", 400));
        Add("priority is numeric", new("POST", "/api/tasks", """{"project":"{key}","title":"x","priority":0}""", "$.priority", 400));
        Add("title is a number", new("POST", "/api/tasks", """{"project":"{key}","title":5}""", "$.title", 400));
        Add("project is an object", new("POST", "/api/tasks", """{"project":{"key":"{key}"},"title":"x"}""", "$.project", 400));
        Add("labels is a string", new("POST", "/api/tasks", """{"project":"{key}","title":"x","labels":"one"}""", "$.labels", 400));
        Add("labels is an object", new("POST", "/api/tasks", """{"project":"{key}","title":"x","labels":{"one":1}}""", "$.labels", 400));
        Add("labels holds numbers", new("POST", "/api/tasks", """{"project":"{key}","title":"x","labels":[1,2]}""", Status: 400));
        Add("dueDate is not a date", new("POST", "/api/tasks", """{"project":"{key}","title":"x","dueDate":"tomorrow"}""", "$.dueDate", 400));
        Add("dueDate is a number", new("POST", "/api/tasks", """{"project":"{key}","title":"x","dueDate":20261224}""", "$.dueDate", 400));
        Add("dueDate is the 45th of the 13th month", new("POST", "/api/tasks", """{"project":"{key}","title":"x","dueDate":"2026-13-45"}""", "$.dueDate", 400));
        Add("an unknown field", new("POST", "/api/tasks", """{"project":"{key}","title":"x","estimate":3}""", "$.estimate", 400));
        Add("a 10,000-character title", new("POST", "/api/tasks", $$"""{"project":"{key}","title":{{title10K}}}""", "title", 400));
        Add("a 1000-character label", new("POST", "/api/tasks", $$"""{"project":"{key}","title":"x","labels":{{label1K}}}""", "labels", 400));
        Add("300 labels", new("POST", "/api/tasks", $$"""{"project":"{key}","title":"x","labels":{{labels300}}}""", "labels", 400));
        Add("a label holding NUL", new("POST", "/api/tasks", """{"project":"{key}","title":"x","labels":["a\u0000b"]}""", "$.labels[0]", 400));
        Add("a 10,000-character assignee", new("POST", "/api/tasks", $$"""{"project":"{key}","title":"x","assignee":{{Json(new string('a', 10_000))}}}""", "assignee", 400));
        Add("a 70,000-character description", new("POST", "/api/tasks", $$"""{"project":"{key}","title":"x","description":{{Json(new string('d', 70_000))}}}""", "description", 400));
        Add("parent is not a ref", new("POST", "/api/tasks", """{"project":"{key}","title":"x","parent":"not-a-ref"}""", "parent", 400));
        Add("parent is 'WEB--1'", new("POST", "/api/tasks", """{"project":"{key}","title":"x","parent":"WEB--1"}""", "parent", 400));
        Add("a title holding NUL", new("POST", "/api/tasks", """{"project":"{key}","title":"a\u0000b"}""", "$.title"));
        Add("an assignee holding NUL", new("POST", "/api/tasks", """{"project":"{key}","title":"x","assignee":"a\u0000b"}""", "$.assignee"));
        Add("Idempotency-Key of 500 characters", new("POST", "/api/tasks", """{"project":"{key}","title":"x"}""", "Idempotency-Key", 400)
        {
            Headers = [("Idempotency-Key", new string('k', 500))],
        });

        Add("status is unknown", new("PATCH", "/api/tasks/{task}", """{"status":"archived"}""", "$.status", 400));
        Add("status is numeric", new("PATCH", "/api/tasks/{task}", """{"status":2}""", "$.status", 400));
        Add("status is null", new("PATCH", "/api/tasks/{task}", """{"status":null}""", "status", 400));
        Add("priority is unknown", new("PATCH", "/api/tasks/{task}", """{"priority":"urgent"}""", "$.priority", 400));
        Add("priority is numeric", new("PATCH", "/api/tasks/{task}", """{"priority":3}""", "$.priority", 400));
        Add("priority is null", new("PATCH", "/api/tasks/{task}", """{"priority":null}""", "priority", 400));
        Add("title is a number", new("PATCH", "/api/tasks/{task}", """{"title":5}""", "$.title", 400));
        Add("assignee is an object", new("PATCH", "/api/tasks/{task}", """{"assignee":{"name":"x"}}""", "$.assignee", 400));
        Add("labels is a string", new("PATCH", "/api/tasks/{task}", """{"labels":"one"}""", "$.labels", 400));
        Add("dueDate is not a date", new("PATCH", "/api/tasks/{task}", """{"dueDate":"tomorrow"}""", "$.dueDate", 400));
        Add("an unknown field", new("PATCH", "/api/tasks/{task}", """{"estimate":3}""", "$.estimate", 400));
        Add("a 10,000-character title", new("PATCH", "/api/tasks/{task}", $$"""{"title":{{title10K}}}""", "title", 400));
        Add("a 1000-character label", new("PATCH", "/api/tasks/{task}", $$"""{"labels":{{label1K}}}""", "labels", 400));
        Add("300 labels", new("PATCH", "/api/tasks/{task}", $$"""{"labels":{{labels300}}}""", "labels", 400));
        Add("parent is not a ref", new("PATCH", "/api/tasks/{task}", """{"parent":"not-a-ref"}""", "parent", 400));

        Add("status is unknown", new("POST", "/api/tasks/{task}/move", """{"status":"blocked"}""", "$.status", 400));
        Add("status is numeric", new("POST", "/api/tasks/{task}/move", """{"status":3}""", "$.status", 400));
        Add("before is a number", new("POST", "/api/tasks/{task}/move", """{"before":5}""", "$.before", 400));
        Add("nothing to move to", new("POST", "/api/tasks/{task}/move", "{}", "status", 400));
        Add("both before and after", new("POST", "/api/tasks/{task}/move", """{"before":"{task}","after":"{task}"}""", "before", 400));
        Add("before is not a ref", new("POST", "/api/tasks/{task}/move", """{"before":"not-a-ref"}""", "before", 400));
        Add("after is 'WEB--1'", new("POST", "/api/tasks/{task}/move", """{"after":"WEB--1"}""", "after", 400));
        Add("a 10,000-character before", new("POST", "/api/tasks/{task}/move", $$"""{"before":{{title10K}}}""", "before", 400));
        Add("an unknown field", new("POST", "/api/tasks/{task}/move", """{"status":"doing","position":1}""", "$.position", 400));

        // The claim is scoped to the test's project, so a wrongly accepted claim takes nothing from other tests.
        Add("priority is a string, not an array", new("POST", "/api/tasks/claim", """{"project":"{key}","priority":"high"}""", "$.priority", 400));
        Add("priority is unknown", new("POST", "/api/tasks/claim", """{"project":"{key}","priority":["urgent"]}""", Status: 400));
        Add("priority is numeric", new("POST", "/api/tasks/claim", """{"project":"{key}","priority":[1]}""", Status: 400));
        Add("labels is a string", new("POST", "/api/tasks/claim", """{"project":"{key}","labels":"x"}""", "$.labels", 400));
        Add("project is a number", new("POST", "/api/tasks/claim", """{"project":5}""", "$.project", 400));
        Add("project is unknown", new("POST", "/api/tasks/claim", """{"project":"NOSUCHPROJ"}""", "project", 400));
        Add("an unknown field", new("POST", "/api/tasks/claim", """{"project":"{key}","limit":1}""", "$.limit", 400));
        Add("a 1000-character label", new("POST", "/api/tasks/claim", $$"""{"project":"{key}","labels":{{label1K}}}""", "labels", 400));
        Add("300 labels", new("POST", "/api/tasks/claim", $$"""{"project":"{key}","labels":{{labels300}}}""", "labels", 400));
        Add("a 10,000-character assignee", new("POST", "/api/tasks/claim", $$"""{"project":"{key}","assignee":{{Json(new string('a', 10_000))}}}""", "assignee", 400));
        Add("project holding NUL", new("POST", "/api/tasks/claim", """{"project":"\u0000"}""", "$.project"));

        Add("blocker is a number", new("POST", "/api/tasks/{task}/blockers", """{"blocker":5}""", "$.blocker", 400));
        Add("blocker is an array", new("POST", "/api/tasks/{task}/blockers", """{"blocker":["{task}"]}""", "$.blocker", 400));
        Add("no blocker", new("POST", "/api/tasks/{task}/blockers", "{}", "blocker", 400));
        Add("blocker is not a ref", new("POST", "/api/tasks/{task}/blockers", """{"blocker":"not-a-ref"}""", "blocker", 400));
        Add("blocker is 'WEB--1'", new("POST", "/api/tasks/{task}/blockers", """{"blocker":"WEB--1"}""", "blocker", 400));
        Add("a 10,000-character blocker", new("POST", "/api/tasks/{task}/blockers", $$"""{"blocker":{{title10K}}}""", "blocker", 400));
        Add("an unknown field", new("POST", "/api/tasks/{task}/blockers", """{"blocker":"{task}","reason":"x"}""", "$.reason", 400));

        Add("body is a number", new("POST", "/api/tasks/{task}/comments", """{"body":5}""", "$.body", 400));
        Add("body is an object", new("POST", "/api/tasks/{task}/comments", """{"body":{"text":"x"}}""", "$.body", 400));
        Add("no body field", new("POST", "/api/tasks/{task}/comments", "{}", "body", 400));
        Add("a blank body", new("POST", "/api/tasks/{task}/comments", """{"body":"   "}""", "body", 400));
        Add("a 70,000-character body", new("POST", "/api/tasks/{task}/comments", $$"""{"body":{{Json(new string('b', 70_000))}}}""", "body", 400));
        Add("an unknown field", new("POST", "/api/tasks/{task}/comments", """{"body":"x","author":"someone-else"}""", "$.author", 400));
        Add("a body holding NUL", new("POST", "/api/tasks/{task}/comments", """{"body":"a\u0000b"}""", "$.body"));
        Add("Idempotency-Key of 500 characters", new("POST", "/api/tasks/{task}/comments", """{"body":"x"}""", "Idempotency-Key", 400)
        {
            Headers = [("Idempotency-Key", new string('k', 500))],
        });

        // Tokens: bodies.
        Add("scopes is a string", new("POST", "/api/tokens", """{"name":"x","scopes":"read"}""", "$.scopes", 400));
        Add("scopes holds numbers", new("POST", "/api/tokens", """{"name":"x","scopes":[1]}""", Status: 400));
        Add("name is a number", new("POST", "/api/tokens", """{"name":5,"scopes":["read"]}""", "$.name", 400));
        Add("expiresAt is not a time", new("POST", "/api/tokens", """{"name":"x","scopes":["read"],"expiresAt":"tomorrow"}""", "$.expiresAt", 400));
        Add("expiresAt is a boolean", new("POST", "/api/tokens", """{"name":"x","scopes":["read"],"expiresAt":true}""", "$.expiresAt", 400));
        Add("an unknown field", new("POST", "/api/tokens", """{"name":"x","scopes":["read"],"secret":"mine"}""", "$.secret", 400));
        Add("a 10,000-character name", new("POST", "/api/tokens", $$"""{"name":{{Json(new string('n', 10_000))}},"scopes":["read"]}""", "name", 400));
        Add("a name holding NUL", new("POST", "/api/tokens", """{"name":"a\u0000b","scopes":["read"]}""", "$.name"));

        // If-Match that is not an ETag the api issued, on every write that honours it.
        var conditional = new (string Url, string? Body)[]
        {
            ("/api/projects/{key}", """{"title":"x"}"""),
            ("/api/projects/{key}/archive", null),
            ("/api/projects/{key}/restore", null),
            ("/api/tasks/{task}", """{"title":"x"}"""),
            ("/api/tasks/{task}/move", """{"status":"doing"}"""),
            ("/api/tasks/{task}/archive", null),
            ("/api/tasks/{task}/restore", null),
        };
        foreach (var (url, body) in conditional)
        {
            var method = url.EndsWith('}') ? "PATCH" : "POST";
            foreach (var (what, ifMatch) in new[]
            {
                ("If-Match: abc", "abc"),
                ("If-Match: \"x\"", "\"x\""),
                ("If-Match: \"0\"", "\"0\""),
                ("If-Match: \"99999999999\" (overflows)", "\"99999999999\""),
            })
            {
                Add(what, new(method, url, body, Status: 400) { Headers = [("If-Match", ifMatch)] });
            }
        }

        // The event stream: only requests it must refuse (a valid one never ends).
        Add("Last-Event-ID: garbage", new("GET", "/api/events", Field: "Last-Event-ID", Status: 400) { Headers = [("Last-Event-ID", "garbage")] });
        Add("Last-Event-ID: -1", new("GET", "/api/events", Field: "Last-Event-ID", Status: 400) { Headers = [("Last-Event-ID", "-1")] });
        Add("Last-Event-ID: 1.5", new("GET", "/api/events", Field: "Last-Event-ID", Status: 400) { Headers = [("Last-Event-ID", "1.5")] });
        Add("Last-Event-ID overflows", new("GET", "/api/events", Field: "Last-Event-ID", Status: 400) { Headers = [("Last-Event-ID", "99999999999999999999999")] });
        Add("lastEventId=abc", new("GET", "/api/events?lastEventId=abc", Status: 400));
        Add("lastEventId=-1 (refused in the Last-Event-ID header)", new("GET", "/api/events?lastEventId=-1", Field: "lastEventId", Status: 400));
        Add("an unknown project", new("GET", "/api/events?project=NOSUCHPROJ", Field: "project", Status: 400));
        Add("an unknown query parameter", new("GET", "/api/events?since=1", Field: "since", Status: 400));
        Add("project=%00", new("GET", "/api/events?project=%00", Field: "project"));

        return cases;
    }
}
