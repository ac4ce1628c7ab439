using TaskManager.Tests.Infrastructure;

namespace TaskManager.Tests.Api;

/// <summary>
/// The api as deployed (Production environment), where development-only conveniences are off: errors must still be
/// problems, never 500s, and the board must still be served.
/// </summary>
public sealed class ProductionTests(AppFixture app) : IAsyncLifetime
{
    private ApiFactory? _factory;
    private HttpClient _client = null!;

    public ValueTask InitializeAsync()
    {
        _factory = new ApiFactory(app.DatabaseConnectionString, app.AdminToken, "Production");
        _client = _factory.CreateAdminClient();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync().AsTask().Timeout();
        }
    }

    [Theory]
    [InlineData("/api/projects?secretish=x", "secretish")]
    [InlineData("/api/tasks?status=sideways", "status")]
    [InlineData("/api/tasks?project=%00", "project")]
    public async Task Bad_queries_are_validation_problems_in_production(string url, string field)
    {
        var response = await _client.GetAsync(url, TestHelpers.Ct).Timeout();

        await response.AssertProblemAsync(400, field);
    }

    [Fact]
    public async Task Bad_bodies_are_validation_problems_in_production()
    {
        var response = await _client.SendRawAsync(HttpMethod.Post, "/api/projects", """{"key":"AB","title":"x","colour":"red"}""");

        await response.AssertProblemAsync(400, "$.colour");
    }

    [Fact]
    public async Task The_board_is_served_in_production_with_its_content_security_policy()
    {
        var anonymous = _factory!.CreateClient(token: null);

        var page = await anonymous.GetAsync("/", TestHelpers.Ct).Timeout();
        var script = await anonymous.GetAsync("/js/app.js", TestHelpers.Ct).Timeout();

        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("<div id=\"app\">", await page.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout());
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
    }
}
