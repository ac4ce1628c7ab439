using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class AuthTests(AppFixture app)
{
    private readonly HttpClient _admin = app.Api.CreateAdminClient();

    /// <summary>Every api endpoint and the scope it needs. Authorization runs before the handler, so ids need not exist.</summary>
    private static readonly (string Method, string Url, string Scope)[] AllEndpoints =
    [
        ("GET", "/api/me", "read"),
        ("GET", "/api/actors", "read"),
        ("POST", "/api/events/tickets", "read"),
        ("GET", "/api/projects", "read"),
        ("POST", "/api/projects", "write"),
        ("GET", "/api/projects/WEB", "read"),
        ("PATCH", "/api/projects/WEB", "write"),
        ("POST", "/api/projects/WEB/archive", "write"),
        ("POST", "/api/projects/WEB/restore", "write"),
        ("GET", "/api/projects/WEB/history", "read"),
        ("GET", "/api/tasks", "read"),
        ("POST", "/api/tasks", "write"),
        ("POST", "/api/tasks/claim", "write"),
        ("GET", "/api/tasks/WEB-1", "read"),
        ("PATCH", "/api/tasks/WEB-1", "write"),
        ("POST", "/api/tasks/WEB-1/move", "write"),
        ("POST", "/api/tasks/WEB-1/archive", "write"),
        ("POST", "/api/tasks/WEB-1/restore", "write"),
        ("GET", "/api/tasks/WEB-1/blockers", "read"),
        ("POST", "/api/tasks/WEB-1/blockers", "write"),
        ("DELETE", "/api/tasks/WEB-1/blockers/WEB-2", "write"),
        ("GET", "/api/tasks/WEB-1/comments", "read"),
        ("POST", "/api/tasks/WEB-1/comments", "write"),
        ("GET", "/api/tasks/WEB-1/history", "read"),
        ("GET", "/api/events?project=NOSUCHPROJ", "read"),
        ("GET", "/api/tokens", "admin"),
        ("POST", "/api/tokens", "admin"),
        ("DELETE", $"/api/tokens/{Guid.Empty}", "admin"),
    ];

    public static TheoryData<string, string> Endpoints => new(AllEndpoints.Select(e => (e.Method, e.Url)));

    public static TheoryData<string, string, string> WriteAndAdminEndpoints => new(AllEndpoints.Where(e => e.Scope != "read"));

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Requests_without_a_valid_token_get_401(string method, string url)
    {
        var revoked = await CreateTokenAsync("soon-revoked", "admin");
        await RevokeAsync(revoked);
        var expired = await CreateTokenAsync("soon-expired", "admin");
        await ExpireAsync("soon-expired");

        foreach (var token in new[] { null, "wrong-token-0123456789", revoked, expired })
        {
            var client = app.Api.CreateClient(token);
            var response = await client.SendRawAsync(new HttpMethod(method), url, "{}");

            await response.AssertProblemAsync(401);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Theory]
    [MemberData(nameof(WriteAndAdminEndpoints))]
    public async Task Tokens_without_the_needed_scope_get_403(string method, string url, string scope)
    {
        var reader = app.Api.CreateClient(await CreateTokenAsync("reader", "read"));
        var writer = app.Api.CreateClient(await CreateTokenAsync("writer", "write"));

        var byReader = await reader.SendRawAsync(new HttpMethod(method), url, "{}");
        await byReader.AssertProblemAsync(403);
        Assert.Contains(scope, (await byReader.ReadJsonAsync()).GetProperty("detail").GetString());
        if (scope == "admin")
        {
            await (await writer.SendRawAsync(new HttpMethod(method), url, "{}")).AssertProblemAsync(403);
        }
    }

    [Fact]
    public async Task A_rotated_admin_token_is_refused_while_tokens_it_created_keep_working()
    {
        var before = "rotate-before-" + Guid.NewGuid().ToString("N");
        var after = "rotate-after-" + Guid.NewGuid().ToString("N");
        string created;
        await using (var old = new ApiFactory(app.DatabaseConnectionString, before))
        {
            var response = await old.CreateAdminClient().PostAsJsonAsync("/api/tokens",
                new { name = "ops-" + Guid.NewGuid().ToString("N")[..8], scopes = new[] { "admin" }, kind = "person" }, TestHelpers.Ct).Timeout();
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            created = (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
        }

        await using var rotated = new ApiFactory(app.DatabaseConnectionString, after);

        Assert.Equal(HttpStatusCode.Unauthorized, (await rotated.CreateClient(before).GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await rotated.CreateClient(after).GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await rotated.CreateClient(created).GetAsync("/api/tokens", TestHelpers.Ct).Timeout()).StatusCode);
    }

    [Fact]
    public async Task Health_probes_need_no_token()
    {
        var client = app.Api.CreateClient(token: null);

        Assert.Equal("Healthy", await client.GetStringAsync("/health", TestHelpers.Ct).Timeout());
        Assert.Equal("Healthy", await client.GetStringAsync("/alive", TestHelpers.Ct).Timeout());
    }

    [Fact]
    public async Task A_read_token_reads_but_cannot_write()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.CreateTaskAsync(key, "Visible");
        var reader = app.Api.CreateClient(await CreateTokenAsync("reporter", "read"));

        var list = await reader.GetAsync($"/api/tasks?project={key}", TestHelpers.Ct).Timeout();
        var write = await reader.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"title":"Nope"}""");
        var create = await reader.SendRawAsync(HttpMethod.Post, "/api/tasks", $$"""{"project":"{{key}}","title":"Nope"}""");
        var tokens = await reader.GetAsync("/api/tokens", TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        await write.AssertProblemAsync(403);
        Assert.Contains("write", (await write.ReadJsonAsync()).GetProperty("detail").GetString());
        await create.AssertProblemAsync(403);
        await tokens.AssertProblemAsync(403);
        var task = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal("Visible", task.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Changes_are_attributed_to_the_tokens_name()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        var agent = app.Api.CreateClient(await CreateTokenAsync("claude-code", "write"));

        var task = await agent.CreateTaskAsync(key, "Agent's task");
        var me = await agent.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout();

        Assert.Equal("claude-code", task.GetProperty("createdBy").GetString());
        Assert.Equal("claude-code", me.GetProperty("name").GetString());
        Assert.Equal(["read", "write"], me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task Tokens_say_whether_their_holder_is_a_person_or_an_agent()
    {
        var name = "person-" + TestHelpers.NewProjectKey().ToLowerInvariant();
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name, scopes = new[] { "write" }, kind = "person" }, TestHelpers.Ct).Timeout();
        var person = app.Api.CreateClient((await response.ReadJsonAsync()).GetProperty("secret").GetString());
        var agentName = "agent-" + TestHelpers.NewProjectKey().ToLowerInvariant();
        var agent = app.Api.CreateClient(await CreateTokenAsync(agentName, "read"));
        var wrong = await _admin.PostAsJsonAsync("/api/tokens", new { name = "x", scopes = new[] { "read" }, kind = "robot" }, TestHelpers.Ct).Timeout();

        var personMe = await person.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout();
        var agentMe = await agent.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout();
        var adminMe = await _admin.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout();
        var actors = await agent.GetFromJsonAsync<JsonElement[]>("/api/actors", TestHelpers.Ct).Timeout();

        Assert.Equal("person", personMe.GetProperty("kind").GetString());
        Assert.Equal("agent", agentMe.GetProperty("kind").GetString());
        Assert.Equal("person", adminMe.GetProperty("kind").GetString());
        Assert.Contains(actors!, a => a.GetProperty("name").GetString() == name && a.GetProperty("kind").GetString() == "person");
        Assert.Contains(actors!, a => a.GetProperty("name").GetString() == agentName && a.GetProperty("kind").GetString() == "agent");
        Assert.Contains(actors!, a => a.GetProperty("name").GetString() == "admin" && a.GetProperty("kind").GetString() == "person");
        await wrong.AssertProblemAsync(400, "$.kind");
    }

    [Fact]
    public async Task A_revoked_token_is_refused_at_once()
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name = "temp", scopes = new[] { "read" } }, TestHelpers.Ct).Timeout();
        var created = await response.ReadJsonAsync();
        var client = app.Api.CreateClient(created.GetProperty("secret").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", TestHelpers.Ct).Timeout()).StatusCode);

        var revoke = await _admin.DeleteAsync($"/api/tokens/{created.GetProperty("token").GetProperty("id").GetString()}", TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        await (await client.GetAsync("/api/me", TestHelpers.Ct).Timeout()).AssertProblemAsync(401);
    }

    [Fact]
    public async Task Using_a_token_records_when_it_was_last_used()
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name = "tracked", scopes = new[] { "read" } }, TestHelpers.Ct).Timeout();
        var created = await response.ReadJsonAsync();
        var id = created.GetProperty("token").GetProperty("id").GetString();
        Assert.Equal(JsonValueKind.Null, created.GetProperty("token").GetProperty("lastUsedAt").ValueKind);

        await app.Api.CreateClient(created.GetProperty("secret").GetString()).GetAsync("/api/me", TestHelpers.Ct).Timeout();

        var tokens = await _admin.GetFromJsonAsync<JsonElement>("/api/tokens", TestHelpers.Ct).Timeout();
        var listed = tokens.EnumerateArray().Single(t => t.GetProperty("id").GetString() == id);
        Assert.Equal(JsonValueKind.String, listed.GetProperty("lastUsedAt").ValueKind);
    }

    [Fact]
    public async Task Token_secrets_are_shown_once_and_never_listed()
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name = "listed", scopes = new[] { "read" } }, TestHelpers.Ct).Timeout();
        var secret = (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;

        var list = await _admin.GetStringAsync("/api/tokens", TestHelpers.Ct).Timeout();

        Assert.StartsWith("tm_", secret);
        Assert.Contains("\"listed\"", list);
        Assert.DoesNotContain(secret, list);
    }

    [Fact]
    public async Task A_token_expiry_may_be_given_in_any_offset()
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens",
            new { name = "offset", scopes = new[] { "read" }, expiresAt = "2030-01-01T00:00:00+02:00" }, TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var expires = (await response.ReadJsonAsync()).GetProperty("token").GetProperty("expiresAt").GetDateTimeOffset();
        Assert.Equal(new DateTimeOffset(2029, 12, 31, 22, 0, 0, TimeSpan.Zero), expires);
    }

    [Theory]
    [InlineData("""{"scopes":["read"]}""", "name")]
    [InlineData("""{"name":"x","scopes":[]}""", "scopes")]
    [InlineData("""{"name":"x","scopes":["superuser"]}""", "scopes")]
    [InlineData("""{"name":"x","scopes":["read"],"expiresAt":"2000-01-01T00:00:00Z"}""", "expiresAt")]
    public async Task Invalid_token_requests_are_a_400_naming_the_field(string body, string field)
    {
        var response = await _admin.SendRawAsync(HttpMethod.Post, "/api/tokens", body);

        await response.AssertProblemAsync(400, field);
    }

    private async Task<string> CreateTokenAsync(string name, params string[] scopes)
    {
        var response = await _admin.PostAsJsonAsync("/api/tokens", new { name, scopes }, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
    }

    private async Task RevokeAsync(string secret)
    {
        var client = app.Api.CreateClient(secret);
        var me = await client.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout();
        var tokens = await _admin.GetFromJsonAsync<JsonElement>("/api/tokens", TestHelpers.Ct).Timeout();
        var id = tokens.EnumerateArray().Last(t => t.GetProperty("name").GetString() == me.GetProperty("name").GetString()).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/tokens/{id}", TestHelpers.Ct).Timeout()).StatusCode);
    }

    /// <summary>Expiry must be in the future when a token is made, so the test moves it into the past directly.</summary>
    private async Task ExpireAsync(string name)
    {
        await using var connection = new NpgsqlConnection(app.DatabaseConnectionString);
        await connection.OpenAsync(TestHelpers.Ct).Timeout();
        await using var command = new NpgsqlCommand("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE name = @name", connection);
        command.Parameters.AddWithValue("name", name);
        await command.ExecuteNonQueryAsync(TestHelpers.Ct).Timeout();
    }
}
