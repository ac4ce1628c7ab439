using System.Net;
using System.Net.Http.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

public sealed class ProjectsApiTests(AppFixture app)
{
    private readonly HttpClient _client = app.Api.CreateAdminClient();

    [Fact]
    public async Task Created_project_can_be_read_by_key_and_id_with_its_version_as_etag()
    {
        var key = TestHelpers.NewProjectKey();
        var response = await _client.PostAsJsonAsync("/api/projects", new { key, title = "Website", description = "The *site*" }, TestHelpers.Ct).Timeout();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/projects/{key}", response.Headers.Location?.OriginalString);
        var created = await response.ReadJsonAsync();
        Assert.Equal("admin", created.GetProperty("createdBy").GetString());
        Assert.Equal(1, created.GetProperty("version").GetInt32());

        foreach (var reference in new[] { key, key.ToLowerInvariant(), created.GetProperty("id").GetString()! })
        {
            var get = await _client.GetAsync($"/api/projects/{reference}", TestHelpers.Ct).Timeout();
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal("\"1\"", get.Headers.ETag?.Tag);
            var read = await get.ReadJsonAsync();
            Assert.Equal("Website", read.GetProperty("title").GetString());
            Assert.Equal("The *site*", read.GetProperty("description").GetString());
        }
    }

    [Fact]
    public async Task Duplicate_key_is_a_409_conflict()
    {
        var project = await _client.CreateProjectAsync();
        var key = project.GetProperty("key").GetString();

        var response = await _client.PostAsJsonAsync("/api/projects", new { key, title = "Again" }, TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(409);
        Assert.Contains(key!, (await response.ReadJsonAsync()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"key":"web","title":"x"}""", "key")]
    [InlineData("""{"key":"W","title":"x"}""", "key")]
    [InlineData("""{"key":"ABCDEFGHIJK","title":"x"}""", "key")]
    [InlineData("""{"key":"WEBX","title":"   "}""", "title")]
    [InlineData("""{"title":"no key"}""", "key")]
    [InlineData("""{"key":"WEBX","title":"x","colour":"red"}""", "$.colour")]
    [InlineData("""{"key":"WEBX","title":12}""", "$.title")]
    public async Task Invalid_project_is_a_400_naming_the_field(string body, string field)
    {
        var response = await _client.SendRawAsync(HttpMethod.Post, "/api/projects", body);

        await response.AssertProblemAsync(400, field);
    }

    [Fact]
    public async Task Unknown_project_is_a_404_problem()
    {
        var response = await _client.GetAsync("/api/projects/NOSUCHPROJ", TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(404);
    }

    [Fact]
    public async Task Listing_pages_through_projects_with_a_cursor()
    {
        // A word only this test's projects have, so other tests' projects stay out of the pages.
        var word = "paging" + TestHelpers.NewProjectKey().ToLowerInvariant();
        var keys = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var key = TestHelpers.NewProjectKey();
            await _client.PostAsJsonAsync("/api/projects", new { key, title = $"{word} {i}", pinned = i % 2 == 0 }, TestHelpers.Ct).Timeout();
            keys.Add(key);
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await _client.GetFromJsonAsync<System.Text.Json.JsonElement>(
                $"/api/projects?q={word}&limit=2{(cursor is null ? "" : $"&cursor={cursor}")}", TestHelpers.Ct).Timeout();
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("key").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        // Pinned first, then by key; each exactly once.
        Assert.Equal(keys.Where((_, i) => i % 2 == 0).Order(StringComparer.Ordinal).Concat(keys.Where((_, i) => i % 2 == 1).Order(StringComparer.Ordinal)), seen);
    }

    [Theory]
    [InlineData("/api/projects?limit=0", "limit")]
    [InlineData("/api/projects?limit=1000", "limit")]
    [InlineData("/api/projects?cursor=garbage", "cursor")]
    [InlineData("/api/projects?colour=red", "colour")]
    public async Task Bad_list_parameters_are_a_400_naming_them(string url, string field)
    {
        var response = await _client.GetAsync(url, TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(400, field);
    }

    [Fact]
    public async Task Updating_a_project_is_conflict_safe_and_cannot_change_its_key()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

        var update = await _client.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"title":"New name","pinned":true}""", ifMatch: "\"1\"");
        var stale = await _client.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"description":"Lost?"}""", ifMatch: "\"1\"");
        var rekey = await _client.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"key":"OTHER"}""");

        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal("\"2\"", update.Headers.ETag?.Tag);
        var updated = await update.ReadJsonAsync();
        Assert.True(updated.GetProperty("pinned").GetBoolean());
        await stale.AssertProblemAsync(412);
        await rekey.AssertProblemAsync(400, "key");
        var current = await _client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/projects/{key}", TestHelpers.Ct).Timeout();
        Assert.Equal("New name", current.GetProperty("title").GetString());
        Assert.Equal("", current.GetProperty("description").GetString());
    }

    [Fact]
    public async Task An_archived_project_leaves_the_list_and_takes_no_new_tasks_until_restored()
    {
        var key = (await _client.CreateProjectAsync()).GetProperty("key").GetString()!;

        var archived = await _client.PostAsync($"/api/projects/{key}/archive", null, TestHelpers.Ct).Timeout();
        var create = await _client.SendRawAsync(HttpMethod.Post, "/api/tasks", $$"""{"project":"{{key}}","title":"Too late"}""");

        Assert.Equal("admin", (await archived.ReadJsonAsync()).GetProperty("archivedBy").GetString());
        await create.AssertProblemAsync(409);
        Assert.DoesNotContain(key, await ListedKeysAsync($"q={key}"));
        Assert.Contains(key, await ListedKeysAsync($"q={key}&includeArchived=true"));

        await _client.PostAsync($"/api/projects/{key}/restore", null, TestHelpers.Ct).Timeout();
        Assert.Contains(key, await ListedKeysAsync($"q={key}"));
        Assert.Equal(HttpStatusCode.Created, (await _client.SendRawAsync(HttpMethod.Post, "/api/tasks", $$"""{"project":"{{key}}","title":"Welcome back"}""")).StatusCode);
    }

    [Fact]
    public async Task Project_search_matches_words_of_the_title()
    {
        var key = TestHelpers.NewProjectKey();
        var word = "zeppelin" + key.ToLowerInvariant();
        await _client.PostAsJsonAsync("/api/projects", new { key, title = $"The {word} project" }, TestHelpers.Ct).Timeout();

        Assert.Equal([key], await ListedKeysAsync($"q={word}"));
    }

    private async Task<string[]> ListedKeysAsync(string query)
    {
        var page = await _client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/projects?{query}", TestHelpers.Ct).Timeout();
        return [.. page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("key").GetString()!)];
    }
}
