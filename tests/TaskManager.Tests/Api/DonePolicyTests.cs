using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>A project's done policy: with doneByPeopleOnly, agents take work as far as review and only people finish it.</summary>
public sealed class DonePolicyTests(AppFixture app)
{
    private readonly HttpClient _admin = app.Api.CreateAdminClient();

    [Fact]
    public async Task In_a_people_only_project_an_agent_is_refused_done_but_may_reach_review_and_a_person_finishes()
    {
        var key = await PeopleOnlyProjectAsync();
        await _admin.CreateTaskAsync(key, "Reviewed by a person");
        var agent = app.Api.CreateClient(await _admin.CreateTokenAsync("agent", "agent"));
        var person = app.Api.CreateClient(await _admin.CreateTokenAsync("person", "person"));

        var patch = await agent.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"status":"done"}""");
        var move = await agent.PostAsJsonAsync($"/api/tasks/{key}-1/move", new { status = "done" }, TestHelpers.Ct).Timeout();
        var create = await agent.SendRawAsync(HttpMethod.Post, "/api/tasks", $$"""{"project":"{{key}}","title":"Born done","status":"done"}""");

        foreach (var refused in new[] { patch, move, create })
        {
            await refused.AssertProblemAsync(403);
            var problem = await refused.ReadJsonAsync();
            Assert.Equal("Done by people only", problem.GetProperty("title").GetString());
            Assert.Contains("doneByPeopleOnly", problem.GetProperty("detail").GetString());
            Assert.Contains("review", problem.GetProperty("detail").GetString());
        }
        var unchanged = await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks/{key}-1", TestHelpers.Ct).Timeout();
        Assert.Equal("todo", unchanged.GetProperty("status").GetString());
        Assert.Equal(1, unchanged.GetProperty("version").GetInt32());
        Assert.Equal(1, (await _admin.GetFromJsonAsync<JsonElement>($"/api/tasks?project={key}", TestHelpers.Ct).Timeout()).GetProperty("items").GetArrayLength());

        Assert.Equal(HttpStatusCode.OK, (await agent.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"status":"review"}""")).StatusCode);
        var finished = await person.PostAsJsonAsync($"/api/tasks/{key}-1/move", new { status = "done" }, TestHelpers.Ct).Timeout();
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal("done", (await finished.ReadJsonAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Without_the_policy_an_agent_finishes_work()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        await _admin.CreateTaskAsync(key, "Finished by an agent");
        var agent = app.Api.CreateClient(await _admin.CreateTokenAsync("agent", "agent"));

        var done = await agent.SendRawAsync(HttpMethod.Patch, $"/api/tasks/{key}-1", """{"status":"done"}""");

        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.False((await _admin.GetFromJsonAsync<JsonElement>($"/api/projects/{key}", TestHelpers.Ct).Timeout()).GetProperty("doneByPeopleOnly").GetBoolean());
    }

    [Fact]
    public async Task Only_a_person_sets_the_policy_and_the_change_is_in_history()
    {
        var key = (await _admin.CreateProjectAsync()).GetProperty("key").GetString()!;
        var agent = app.Api.CreateClient(await _admin.CreateTokenAsync("agent", "agent"));

        var byAgent = await agent.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"doneByPeopleOnly":true}""");
        var createdByAgent = await agent.SendRawAsync(HttpMethod.Post, "/api/projects", $$"""{"key":"{{TestHelpers.NewProjectKey()}}","title":"Agent's","doneByPeopleOnly":false}""");
        var nullPolicy = await _admin.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"doneByPeopleOnly":null}""");
        var byPerson = await _admin.SendRawAsync(HttpMethod.Patch, $"/api/projects/{key}", """{"doneByPeopleOnly":true}""");

        await byAgent.AssertProblemAsync(403);
        Assert.Contains("Only a person", (await byAgent.ReadJsonAsync()).GetProperty("detail").GetString());
        await createdByAgent.AssertProblemAsync(403);
        await nullPolicy.AssertProblemAsync(400, "doneByPeopleOnly");
        Assert.Equal(HttpStatusCode.OK, byPerson.StatusCode);
        Assert.True((await byPerson.ReadJsonAsync()).GetProperty("doneByPeopleOnly").GetBoolean());
        var history = await _admin.GetFromJsonAsync<JsonElement>($"/api/projects/{key}/history?order=desc&limit=1", TestHelpers.Ct).Timeout();
        var change = history.GetProperty("items")[0].GetProperty("data").GetProperty("changes").GetProperty("doneByPeopleOnly");
        Assert.True(change.GetProperty("new").GetBoolean());
    }

    private async Task<string> PeopleOnlyProjectAsync()
    {
        var response = await _admin.SendRawAsync(HttpMethod.Post, "/api/projects",
            $$"""{"key":"{{TestHelpers.NewProjectKey()}}","title":"Reviewed","doneByPeopleOnly":true}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var project = await response.ReadJsonAsync();
        Assert.True(project.GetProperty("doneByPeopleOnly").GetBoolean());
        return project.GetProperty("key").GetString()!;
    }
}
