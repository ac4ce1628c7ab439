using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// Bytes a hostile or broken client can send, over a real socket to the api on Kestrel: each is refused with a 4xx, as
/// an RFC 9457 problem naming what was wrong when the api answers, never a 5xx and never a hang. Some never reach the
/// api: Kestrel itself answers a request line or headers over its limits (414, 431) or a malformed request (400), with
/// no body; those tests accept Kestrel's own 4xx and say so.
/// </summary>
public sealed class HostileInputTests(AppFixture app)
{
    private readonly LoopbackApi _server = app.Loopback;
    private readonly HttpClient _client = app.Loopback.CreateApiClient();

    /// <summary>What a client reads of a problem answer.</summary>
    private sealed record Problem(int Status, string? Title, string? Detail, string? Field, Dictionary<string, string[]>? Errors)
    {
        public string[] Messages(string field) => Errors?.GetValueOrDefault(field) ?? [];
    }

    public static TheoryData<string, string> InvalidUtf8Bodies => new()
    {
        // Sent as Latin-1, so each \u00NN below is the single byte NN on the wire.
        { "a byte that is never UTF-8 (FF) in a string", "{\"project\":\"{key}\",\"title\":\"a\u00FFb\"}" },
        { "an overlong encoding of '/' (C0 AF)", "{\"project\":\"{key}\",\"title\":\"a\u00C0\u00AFb\"}" },
        { "a UTF-8-encoded surrogate (ED A0 80)", "{\"project\":\"{key}\",\"title\":\"a\u00ED\u00A0\u0080b\"}" },
        { "a sequence cut short (E2 82) before the closing quote", "{\"project\":\"{key}\",\"title\":\"a\u00E2\u0082\"}" },
        { "a byte that is never UTF-8 (FE) in a property name", "{\"project\":\"{key}\",\"ti\u00FEtle\":\"x\"}" },
        { "a stray continuation byte (80) after the object", "{\"project\":\"{key}\",\"title\":\"x\"}\u0080" },
        { "Latin-1 text sent as UTF-8", "{\"project\":\"{key}\",\"title\":\"caf\u00E9\"}" },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Bodies))]
    public async Task A_body_that_is_not_valid_UTF8_is_a_400_problem(string what, string body)
    {
        var key = await NewProjectAsync();

        var response = await SendAsync("POST", "/api/tasks", Latin1(body.Replace("{key}", key)));

        response.AssertProblem(400, what);
        await AssertNoTaskAsync(key);
    }

    [Theory]
    [InlineData("arrays in labels", 65, """{"project":"{key}","title":"x","labels":{nested}}""")]
    [InlineData("arrays in labels", 10_000, """{"project":"{key}","title":"x","labels":{nested}}""")]
    [InlineData("arrays as the whole body", 10_000, "{nested}")]
    [InlineData("objects in the title", 10_000, """{"project":"{key}","title":{objects}}""")]
    public async Task JSON_nested_deeper_than_the_serializer_allows_is_a_400_problem(string what, int depth, string body)
    {
        var key = await NewProjectAsync();
        var nested = new string('[', depth) + new string(']', depth);
        var objects = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

        var response = await SendAsync("POST", "/api/tasks", Utf8(body.Replace("{key}", key).Replace("{nested}", nested).Replace("{objects}", objects)));

        // Refused at the first value of the wrong type, before the reader ever gets 64 levels deep: no request body of
        // this api nests beyond three, so the serializer's depth limit is a second line that these never reach.
        response.AssertProblem(400, what);
        await AssertNoTaskAsync(key);
    }

    [Theory]
    [InlineData("POST", "/api/projects", """{"key":"{newkey}","title":1e400}""", "$.title")]
    [InlineData("POST", "/api/projects", """{"key":"{newkey}","title":"x","pinned":1e400}""", "$.pinned")]
    [InlineData("POST", "/api/tasks", """{"project":"{key}","title":"x","description":-1e400}""", "$.description")]
    [InlineData("POST", "/api/tasks", """{"project":"{key}","title":"x","dueDate":1e400}""", "$.dueDate")]
    [InlineData("PATCH", "/api/tasks/{task}", """{"status":1e400}""", "$.status")]
    [InlineData("POST", "/api/tasks", """{"project":"{key}","title":"x","labels":["ok",1e400]}""", "$.labels[1]")]
    [InlineData("PATCH", "/api/tasks/{task}", """{"labels":[1e400]}""", "$.labels")]
    [InlineData("POST", "/api/tasks/{task}/move", """{"before":123456789012345678901234567890}""", "$.before")]
    public async Task A_number_too_big_for_any_type_in_a_body_is_a_400_problem_naming_the_field(string method, string path, string body, string field)
    {
        var key = await NewProjectAsync();
        var task = (await _client.CreateTaskAsync(key, "Target")).GetProperty("ref").GetString()!;

        var response = await SendAsync(method, Fill(path, key, task), Utf8(Fill(body, key, task)));

        response.AssertProblem(400, field: field);
    }

    [Theory]
    [InlineData("limit=1e400", "limit")]
    [InlineData("limit=99999999999999999999999999999999", "limit")]
    [InlineData("limit=-0", "limit")]
    [InlineData("limit=NaN", "limit")]
    public async Task A_number_out_of_every_range_in_a_query_is_a_400_problem(string query, string field)
    {
        var response = await SendAsync("GET", "/api/projects?" + query);

        var problem = response.AssertProblem(400);
        Assert.True(problem.Errors?.ContainsKey(field) == true || problem.Detail?.Contains(field) == true,
            $"Expected the problem to name {field}: {response.Body}");
    }

    [Fact]
    public async Task A_version_too_big_for_any_type_in_If_Match_is_a_400_problem()
    {
        var key = await NewProjectAsync();
        var task = await _client.CreateTaskAsync(key, "Versioned");

        var response = await SendAsync("PATCH", $"/api/tasks/{task.GetProperty("ref").GetString()}", Utf8("""{"title":"y"}"""),
            headers: ["If-Match: \"1e400\""]);

        var problem = response.AssertProblem(400);
        Assert.Contains("If-Match", problem.Detail);
    }

    [Theory]
    [InlineData("""{"project":"{key}","title":"first","title":"second"}""", "$.title")]
    [InlineData("""{"project":"{key}","title":"first","Title":"second"}""", "$.Title")]
    [InlineData("""{"project":"{key}","project":"{key}","title":"x"}""", "$.project")]
    [InlineData("""{"project":"{key}","title":"x","labels":["a"],"labels":["b"]}""", "$.labels")]
    public async Task Duplicate_fields_are_refused_naming_the_field(string body, string field)
    {
        var key = await NewProjectAsync();

        var response = await SendAsync("POST", "/api/tasks", Utf8(body.Replace("{key}", key)));

        var problem = response.AssertProblem(400, field: field);
        Assert.Contains("Duplicate field", problem.Detail);
        await AssertNoTaskAsync(key);
    }

    [Fact]
    public async Task A_duplicate_field_in_a_partial_update_is_refused_and_changes_nothing()
    {
        var key = await NewProjectAsync();
        var task = await _client.CreateTaskAsync(key, "Unchanged");
        var reference = task.GetProperty("ref").GetString();

        var response = await SendAsync("PATCH", $"/api/tasks/{reference}", Utf8("""{"title":"first","title":"second"}"""));

        response.AssertProblem(400, field: "$.title");
        var current = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks/{reference}", TestHelpers.Ct).Timeout();
        Assert.Equal("Unchanged", current.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("distinct labels", false)]
    [InlineData("the same label 10,000 times", true)]
    public async Task Ten_thousand_labels_are_one_error_naming_labels(string what, bool same)
    {
        var key = await NewProjectAsync();
        var labels = JsonSerializer.Serialize(Enumerable.Range(0, 10_000).Select(i => same ? "l" : $"l{i}"));

        var response = await SendAsync("POST", "/api/tasks", Utf8($$"""{"project":"{{key}}","title":"x","labels":{{labels}}}"""));

        var problem = response.AssertProblem(400, what, field: "labels");
        Assert.Equal(["A task has at most 20 labels (got 10000)."], problem.Messages("labels"));
        await AssertNoTaskAsync(key);
    }

    [Fact]
    public async Task Ten_thousand_scopes_or_priorities_are_refused_with_a_small_problem()
    {
        var key = await NewProjectAsync();
        var scopes = JsonSerializer.Serialize(Enumerable.Repeat("nope", 10_000));
        var priorities = JsonSerializer.Serialize(Enumerable.Repeat("high", 10_000));

        var token = await SendAsync("POST", "/api/tokens", Utf8($$"""{"name":"many-scopes","scopes":{{scopes}}}"""));
        var claim = await SendAsync("POST", "/api/tasks/claim", Utf8($$"""{"project":"{{key}}","priority":{{priorities}}}"""));

        token.AssertProblem(400, "10,000 unknown scopes", field: "scopes");
        Assert.True(token.Body.Length < 4096, $"A 10,000-element array made a {token.Body.Length}-character problem.");
        // No task is ready in the new project, whatever the priorities: the point is that 10,000 of them are not a 5xx.
        Assert.True(claim.Status is 200 or 204 or 400, $"Claim with 10,000 priorities: {claim.Status} {claim.Body}");
    }

    [Fact]
    public async Task A_16_KB_query_string_is_refused_by_Kestrel_with_414()
    {
        var response = await SendAsync("GET", "/api/tasks?q=" + new string('q', 16 * 1024));

        // Kestrel's request-line limit (8 KiB) answers before the api runs, with no body.
        Assert.Equal(414, response.Status);
    }

    [Fact]
    public async Task A_query_within_Kestrels_limit_but_of_900_unknown_parameters_is_a_bounded_problem()
    {
        var query = string.Join('&', Enumerable.Range(0, 900).Select(i => $"p{i}=1"));

        var response = await SendAsync("GET", "/api/projects?" + query);

        var problem = response.AssertProblem(400);
        Assert.NotNull(problem.Errors);
        Assert.True(response.Body.Length < 64 * 1024, $"900 unknown parameters made a {response.Body.Length}-character problem.");
    }

    [Theory]
    [InlineData("GET", "/api/tasks/%FF", 400)]
    [InlineData("GET", "/api/tasks/%FF%FE-1", 400)]
    [InlineData("GET", "/api/tasks/WEB-%FF", 400)]
    [InlineData("PATCH", "/api/tasks/%C0%AF", 400)]
    [InlineData("GET", "/api/tasks/%ED%A0%80/history", 400)]
    [InlineData("GET", "/api/projects/%FF%FE", 404)]
    [InlineData("GET", "/api/projects/%E2%80%AE", 404)]
    [InlineData("POST", "/api/projects/%FF/archive", 404)]
    [InlineData("DELETE", "/api/tokens/%FF", 404)]
    public async Task Invalid_UTF8_percent_encoding_in_a_path_is_a_4xx_problem(string method, string path, int status)
    {
        var response = await SendAsync(method, path, method == "PATCH" ? Utf8("""{"title":"x"}""") : null);

        response.AssertProblem(status);
    }

    [Theory]
    [InlineData("GET", "/api/projects?q=%FF%FE")]
    [InlineData("GET", "/api/tasks?project=%FF")]
    [InlineData("GET", "/api/tasks?project=%C0%AF&q=%ED%A0%80")]
    public async Task Invalid_UTF8_percent_encoding_in_a_query_is_never_a_5xx(string method, string target)
    {
        var response = await SendAsync(method, target);

        Assert.True(response.Status is 200 || response.IsProblem(400), $"{method} {target}: {response.Status} {response.Body}");
    }

    [Theory]
    [InlineData("a raw FF byte in the path", "GET /api/tasks/\xFF HTTP/1.1")]
    [InlineData("a raw space in the path", "GET /api/tasks/a b HTTP/1.1")]
    [InlineData("a path that is not absolute", "GET api/tasks HTTP/1.1")]
    [InlineData("an unknown HTTP version", "GET /api/projects HTTP/9.9")]
    public async Task A_request_line_Kestrel_cannot_parse_is_refused_by_Kestrel(string what, string requestLine)
    {
        var response = await SendRawAsync(Encoding.Latin1.GetBytes($"{requestLine}\r\nHost: localhost\r\nConnection: close\r\n\r\n"));

        // Kestrel answers these itself (400, or 505 for the version) without a body; the api never runs.
        Assert.True(response.Status is 400 or 505, $"{what}: {response.Status}");
    }

    [Fact]
    public async Task A_header_over_Kestrels_limit_is_refused_with_431()
    {
        var response = await SendAsync("GET", "/api/projects", headers: [$"X-Padding: {new string('p', 40 * 1024)}"]);

        // Kestrel's total header limit (32 KiB) answers before the api runs, with no body.
        Assert.Equal(431, response.Status);
    }

    [Theory]
    [InlineData("Idempotency-Key: \xFF\xFE")]
    [InlineData("If-Match: \"\xFF\"")]
    [InlineData("Authorization: Bearer \xFF")]
    public async Task Non_ASCII_bytes_in_a_header_are_refused(string header)
    {
        var key = await NewProjectAsync();

        var response = await SendAsync("POST", "/api/tasks", Utf8($$"""{"project":"{{key}}","title":"x"}"""), headers: [header],
            authorize: !header.StartsWith("Authorization", StringComparison.Ordinal));

        // Kestrel refuses header values that are not ASCII with a bare 400 before the api runs.
        Assert.Equal(400, response.Status);
        await AssertNoTaskAsync(key);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("garbage")]
    [InlineData("application/json; charset=\"")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=klingon")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task A_body_that_is_not_UTF8_JSON_by_its_Content_Type_is_a_415_problem(string contentType)
    {
        var key = await NewProjectAsync();

        var response = await SendAsync("POST", "/api/tasks", Utf8($$"""{"project":"{{key}}","title":"x"}"""), contentType: contentType);

        response.AssertProblem(415, contentType);
        await AssertNoTaskAsync(key);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    public async Task JSON_that_states_its_UTF8_charset_is_accepted(string contentType)
    {
        var key = await NewProjectAsync();

        var response = await SendAsync("POST", "/api/tasks", Utf8($$"""{"project":"{{key}}","title":"x"}"""), contentType: contentType);

        Assert.True(response.Status == 201, $"{contentType}: {response.Status} {response.Body}");
    }

    [Theory]
    [InlineData("POST", "/api/tasks", "{", "application/json")]
    [InlineData("POST", "/api/tasks", "{}", "application/json; charset=utf-16")]
    [InlineData("POST", "/api/tasks", """{"title":"x","title":"y"}""", "application/json")]
    [InlineData("GET", "/api/tasks/%FF", null, null)]
    public async Task A_client_that_accepts_only_XML_still_gets_a_JSON_problem_not_a_500(string method, string path, string? body, string? contentType)
    {
        var response = await SendAsync(method, path, body is null ? null : Utf8(body), contentType ?? "application/json",
            headers: ["Accept: application/xml"]);

        Assert.True(response.Status is >= 400 and < 500 && response.ContentType == "application/problem+json",
            $"{method} {path}: {response.Status} {response.ContentType} {response.Body}");
    }

    [Theory]
    [InlineData("an empty body", "")]
    [InlineData("null", "null")]
    [InlineData("an array", """[{"title":"x"}]""")]
    [InlineData("a string", "\"x\"")]
    [InlineData("a byte-order mark alone", "\uFEFF")]
    public async Task A_body_that_is_not_an_object_is_a_400_problem(string what, string body)
    {
        var response = await SendAsync("POST", "/api/projects", Utf8(body));

        response.AssertProblem(400, what);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_a_413_problem()
    {
        var key = await NewProjectAsync();
        var head = Encoding.ASCII.GetBytes(
            $"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {app.AdminToken}\r\nContent-Type: application/json\r\n" +
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        var description = new string('d', 300 * 1024);
        var json = Encoding.UTF8.GetBytes($$"""{"project":"{{key}}","title":"x","description":"{{description}}"}""");
        var chunked = Encoding.ASCII.GetBytes($"{json.Length:X}\r\n").Concat(json).Concat(Encoding.ASCII.GetBytes("\r\n0\r\n\r\n"));

        var response = await SendRawAsync([.. head, .. chunked]);

        response.AssertProblem(413);
        await AssertNoTaskAsync(key);
    }

    [Fact]
    public async Task A_malformed_chunked_body_is_refused()
    {
        var head = Encoding.ASCII.GetBytes(
            $"POST /api/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {app.AdminToken}\r\nContent-Type: application/json\r\n" +
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n");

        var response = await SendRawAsync(head);

        // Kestrel fails the body read; the api turns that into a problem, or Kestrel answers itself: a 400 either way.
        Assert.Equal(400, response.Status);
    }

    public static TheoryData<string, string, string, string, string> UnsafeText => new()
    {
        // what, method, path, body ({key}: the test's project, {task}: its task), the expected message.
        {
            "a right-to-left override in a task title", "POST", "/api/tasks", """{"project":"{key}","title":"abcd\u202Eexe.txt"}""",
            "title contains a bidirectional control character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 5; remove it."
        },
        {
            "a left-to-right isolate in a project title", "PATCH", "/api/projects/{key}", """{"title":"\u2066x"}""",
            "title contains a bidirectional control character U+2066 (LEFT-TO-RIGHT ISOLATE) at position 1; remove it."
        },
        {
            "a right-to-left mark in a task title", "PATCH", "/api/tasks/{task}", """{"title":"ab\u200Fc"}""",
            "title contains a bidirectional control character U+200F (RIGHT-TO-LEFT MARK) at position 3; remove it."
        },
        {
            "a bell in an assignee", "PATCH", "/api/tasks/{task}", """{"assignee":"claude\u0007"}""",
            "assignee contains a control character U+0007 at position 7; remove it."
        },
        {
            "a C1 control (NEL) in a task title", "POST", "/api/tasks", """{"project":"{key}","title":"a\u0085b"}""",
            "title contains a control character U+0085 at position 2; remove it."
        },
        {
            "a newline inside a task title", "POST", "/api/tasks", """{"project":"{key}","title":"line one\nline two"}""",
            "title contains a tab or line break U+000A at position 9; remove it."
        },
        {
            "a line separator inside a project title", "POST", "/api/projects", """{"key":"{newkey}","title":"a\u2028b"}""",
            "title contains a line break U+2028 (LINE SEPARATOR) at position 2; remove it."
        },
        {
            "a zero-width space in a label", "POST", "/api/tasks", """{"project":"{key}","title":"x","labels":["ok","b\u200Bug"]}""",
            "labels[1] contains an invisible formatting character U+200B (ZERO WIDTH SPACE) at position 2; remove it."
        },
        {
            "a zero-width joiner inside an ASCII assignee", "POST", "/api/tasks/claim", """{"project":"{key}","assignee":"claude\u200Dcode"}""",
            "assignee contains an invisible joiner U+200D (ZERO WIDTH JOINER) at position 7; remove it."
        },
        {
            "an invisible tag character in a task title (after an emoji)", "POST", "/api/tasks", """{"project":"{key}","title":"\uD83D\uDE00 ok\uDB40\uDC41"}""",
            "title contains an invisible tag character U+E0041 at position 5; remove it."
        },
        {
            "a soft hyphen in a token name", "POST", "/api/tokens", """{"name":"claude\u00ADcode","scopes":["read"]}""",
            "name contains an invisible formatting character U+00AD (SOFT HYPHEN) at position 7; remove it."
        },
        {
            "a pop-directional-isolate in a token name", "POST", "/api/tokens", """{"name":"bot\u2069","scopes":["read"]}""",
            "name contains a bidirectional control character U+2069 (POP DIRECTIONAL ISOLATE) at position 4; remove it."
        },
        {
            "a noncharacter in a task title", "POST", "/api/tasks", """{"project":"{key}","title":"a\uFFFF"}""",
            "title contains a noncharacter U+FFFF at position 2; remove it."
        },
        {
            "a right-to-left override in a description", "POST", "/api/tasks", """{"project":"{key}","title":"x","description":"ok\n\u202Eevil"}""",
            "description contains a bidirectional control character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 4; remove it."
        },
        {
            "an escape character in a project description", "PATCH", "/api/projects/{key}", """{"description":"\u001B[31mred"}""",
            "description contains a control character U+001B at position 1; remove it."
        },
        {
            "a right-to-left embedding in a comment", "POST", "/api/tasks/{task}/comments", """{"body":"see \u202Bthis"}""",
            "body contains a bidirectional control character U+202B (RIGHT-TO-LEFT EMBEDDING) at position 5; remove it."
        },
        {
            "a backspace in a comment", "POST", "/api/tasks/{task}/comments", """{"body":"done\b\b\b\bnot done"}""",
            "body contains a control character U+0008 at position 5; remove it."
        },
    };

    [Theory]
    [MemberData(nameof(UnsafeText))]
    public async Task Control_and_invisible_characters_are_refused_naming_the_field_the_character_and_its_position(
        string what, string method, string path, string body, string message)
    {
        var key = await NewProjectAsync();
        var task = (await _client.CreateTaskAsync(key, "Target")).GetProperty("ref").GetString()!;

        var response = await SendAsync(method, Fill(path, key, task), Utf8(Fill(body, key, task)));

        var field = message[..message.IndexOf(' ')].Split('[')[0];
        var problem = response.AssertProblem(400, what, field: field);
        Assert.Contains(message, problem.Messages(field));
    }

    [Theory]
    [InlineData("an emoji sequence joined by ZWJ", "\uD83D\uDC69\u200D\uD83D\uDCBB Fix the login")]
    [InlineData("Persian with a zero-width non-joiner", "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645")]
    [InlineData("Hebrew and Arabic", "\u05E9\u05DC\u05D5\u05DD \u0645\u0631\u062D\u0628\u0627")]
    [InlineData("combining marks and a variation selector", "Cafe\u0301 \u2764\uFE0F")]
    [InlineData("text outside the BMP", "\uD835\uDD73\uD835\uDD8A\uD835\uDD98\uD835\uDD99")]
    [InlineData("surrounding whitespace, trimmed", "\t  Padded\n")]
    public async Task Text_that_writing_and_emoji_need_is_kept_as_sent(string what, string title)
    {
        var key = await NewProjectAsync();

        var response = await _client.PostAsJsonAsync("/api/tasks", new { project = key, title, assignee = title, labels = new[] { title } },
            TestHelpers.Ct).Timeout();

        Assert.True(response.IsSuccessStatusCode, $"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout()}");
        var task = await response.ReadJsonAsync();
        Assert.Equal(title.Trim(), task.GetProperty("title").GetString());
        Assert.Equal(title.Trim(), task.GetProperty("assignee").GetString());
        Assert.Equal([title.Trim()], task.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task Descriptions_and_comments_keep_tabs_line_breaks_and_right_to_left_marks()
    {
        var key = await NewProjectAsync();
        const string markdown = "# Steps\r\n\t1. Run it\n2. \u05E9\u05DC\u05D5\u05DD\u200F (RLM)\u2028next";
        var task = await _client.CreateTaskAsync(key, "Markdown", new { description = markdown });
        var reference = task.GetProperty("ref").GetString();

        var comment = await _client.PostAsJsonAsync($"/api/tasks/{reference}/comments", new { body = markdown }, TestHelpers.Ct).Timeout();

        Assert.Equal(markdown, task.GetProperty("description").GetString());
        Assert.Equal(System.Net.HttpStatusCode.Created, comment.StatusCode);
        Assert.Equal(markdown, (await comment.ReadJsonAsync()).GetProperty("body").GetString());
    }

    private async Task<string> NewProjectAsync() => (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

    /// <summary>The project has no task: a refused create left nothing behind.</summary>
    private async Task AssertNoTaskAsync(string key)
    {
        var page = await _client.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout();
        Assert.Equal(0, page.GetProperty("items").GetArrayLength());
    }

    private static string Fill(string text, string key, string task) =>
        text.Replace("{newkey}", TestHelpers.NewProjectKey()).Replace("{task}", task).Replace("{key}", key);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Each character as one byte, so that "\xFF" in the text is the byte FF on the wire.</summary>
    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>
    /// One request written byte for byte on a new connection: HttpClient would refuse or re-encode several of these
    /// (non-ASCII header bytes, invalid percent-encoding it might normalise).
    /// </summary>
    private Task<RawResponse> SendAsync(string method, string target, byte[]? body = null, string contentType = "application/json",
        string[]? headers = null, bool authorize = true)
    {
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if (authorize)
        {
            head.Append($"Authorization: Bearer {app.AdminToken}\r\n");
        }
        if (body is not null)
        {
            head.Append($"Content-Type: {contentType}\r\nContent-Length: {body.Length}\r\n");
        }
        foreach (var header in headers ?? [])
        {
            head.Append(header).Append("\r\n");
        }
        head.Append("\r\n");
        return SendRawAsync([.. Encoding.Latin1.GetBytes(head.ToString()), .. body ?? []]);
    }

    private async Task<RawResponse> SendRawAsync(byte[] request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.Address.Host, _server.Address.Port, TestHelpers.Ct).AsTask().Timeout();
        var stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(request, TestHelpers.Ct).AsTask().Timeout();
        }
        catch (IOException)
        {
            // Kestrel may answer and close before the whole request is written (a body over the limit): read its answer.
        }
        using var received = new MemoryStream();
        // Connection: close, so the answer ends when the server closes the connection.
        await stream.CopyToAsync(received, TestHelpers.Ct).Timeout();
        return RawResponse.Parse(received.ToArray());
    }

    private sealed record RawResponse(int Status, Dictionary<string, string> Headers, string Body)
    {
        public string? ContentType => Headers.GetValueOrDefault("content-type")?.Split(';')[0].Trim();

        public bool IsProblem(int status) => Status == status && ContentType == "application/problem+json";

        /// <summary>Asserts a problem of <paramref name="status"/>, naming <paramref name="field"/> when given, and returns it.</summary>
        public Problem AssertProblem(int status, string? what = null, string? field = null)
        {
            Assert.True(IsProblem(status),
                $"{what}{(what is null ? "" : ": ")}expected a {status} application/problem+json, got {Status} {ContentType ?? "(no content type)"}: " +
                (Body.Length > 600 ? Body[..600] + "…" : Body));
            var problem = JsonSerializer.Deserialize<Problem>(Body, TestHelpers.Json)!;
            Assert.Equal(status, problem.Status);
            if (field is not null)
            {
                Assert.True(problem.Field == field || problem.Errors?.ContainsKey(field) == true,
                    $"{what}{(what is null ? "" : ": ")}expected the problem to name '{field}': {Body}");
            }
            return problem;
        }

        public static RawResponse Parse(byte[] bytes)
        {
            var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.True(end > 0, $"No complete HTTP answer: '{Encoding.Latin1.GetString(bytes)}'");
            var lines = Encoding.Latin1.GetString(bytes, 0, end).Split("\r\n");
            var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            var headers = lines.Skip(1).Select(l => l.Split(':', 2))
                .GroupBy(p => p[0].Trim().ToLowerInvariant())
                .ToDictionary(g => g.Key, g => g.First()[1].Trim());
            var body = bytes[(end + 4)..];
            return new(status, headers, Encoding.UTF8.GetString(headers.GetValueOrDefault("transfer-encoding") == "chunked" ? Dechunk(body) : body));
        }

        private static byte[] Dechunk(byte[] body)
        {
            using var result = new MemoryStream();
            var at = 0;
            while (true)
            {
                var lineEnd = at + body.AsSpan(at).IndexOf("\r\n"u8);
                var size = Convert.ToInt32(Encoding.ASCII.GetString(body, at, lineEnd - at).Split(';')[0], 16);
                if (size == 0)
                {
                    return result.ToArray();
                }
                result.Write(body, lineEnd + 2, size);
                at = lineEnd + 2 + size + 2;
            }
        }
    }
}
