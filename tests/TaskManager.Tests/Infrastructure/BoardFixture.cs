using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Playwright;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// For browser tests: the api in process on a real port (on the AppFixture's database, with its admin token) and one
/// headless Chromium, both started once, when the first board test runs. Each test gets its own browser context.
/// </summary>
public sealed class BoardFixture(AppFixture app) : IAsyncLifetime
{
    /// <summary>Playwright's own limit for each action, navigation and expectation; below the test helpers' 30 s.</summary>
    public const float PlaywrightTimeout = 10_000;

    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _sharedTokens = new();
    private LoopbackApi? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public AppFixture App => app;

    public LoopbackApi Server => _server ?? throw new InvalidOperationException("The board server has not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public string AdminToken => app.AdminToken;

    public async ValueTask InitializeAsync()
    {
        var startTimeout = TimeSpan.FromMinutes(1);
        _server = await Task.Run(() => new LoopbackApi(app.DatabaseConnectionString, app.AdminToken,
            // Tests seed big boards as fast as they can, with one token: the limits have tests of their own.
            builder => builder.UseSetting("Limits:Enabled", "false"))).WaitAsync(startTimeout);
        _playwright = await Playwright.CreateAsync().WaitAsync(startTimeout);
        Assertions.SetDefaultExpectTimeout(PlaywrightTimeout);
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            Timeout = 60_000,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        }).WaitAsync(startTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        var timeout = TimeSpan.FromSeconds(60);
        if (_browser is not null)
        {
            await _browser.CloseAsync().WaitAsync(timeout);
        }
        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync().AsTask().WaitAsync(timeout);
        }
    }

    /// <summary>A fresh browser context and page; signed in with <paramref name="token"/> unless it is null.</summary>
    public Task<BoardSession> OpenAsync(string? token, BrowserNewContextOptions? options = null) =>
        BoardSession.OpenAsync(this, token, options);

    /// <summary>A fresh browser context and page signed in with the admin token.</summary>
    public Task<BoardSession> OpenAsync(BrowserNewContextOptions? options = null) => OpenAsync(AdminToken, options);

    /// <summary>A REST client of the in-process api (admin unless a token is given).</summary>
    public HttpClient CreateApiClient(string? token = null) => Server.CreateApiClient(token);

    /// <summary>Creates a token for another actor (an agent by default) and returns its secret.</summary>
    public async Task<string> CreateTokenAsync(string name, string kind = "agent", string scope = "write")
    {
        using var admin = CreateApiClient();
        var response = await admin.PostAsJsonAsync("/api/tokens", new { name, scopes = new[] { scope }, kind }, TestHelpers.Ct).Timeout();
        Assert.True(response.IsSuccessStatusCode, $"Creating token '{name}': {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestHelpers.Ct).Timeout()}");
        return (await response.ReadJsonAsync()).GetProperty("secret").GetString()!;
    }

    /// <summary>One agent token of this name for the whole run (so that the name shows the agent badge), created on first use.</summary>
    public Task<string> SharedAgentTokenAsync(string name) =>
        _sharedTokens.GetOrAdd(name, n => new Lazy<Task<string>>(() => CreateTokenAsync(n))).Value.Timeout();

    /// <summary>The actor name the api records for the admin token.</summary>
    public async Task<string> AdminNameAsync()
    {
        using var admin = CreateApiClient();
        return (await admin.GetFromJsonAsync<JsonElement>("/api/me", TestHelpers.Ct).Timeout()).GetProperty("name").GetString()!;
    }

    private static string ChromiumPath() =>
        new[] { Environment.GetEnvironmentVariable("TASKMANAGER_CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p))
        ?? throw new InvalidOperationException("No Chromium found: set TASKMANAGER_CHROMIUM or install Debian's chromium.");
}
