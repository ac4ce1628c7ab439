using Microsoft.Extensions.Options;

namespace TaskManager.Mcp;

/// <summary>
/// The MCP server's own settings (section <c>Mcp</c>), checked at start: a wrong value stops the server with a message
/// naming the setting, instead of surfacing on the first request.
/// </summary>
public sealed class McpSettings
{
    public const string SectionName = "Mcp";

    public static readonly string[] ToolSets = ["all", "core", "read-only"];

    /// <summary><c>all</c> (default), <c>core</c> (the work loop only) or <c>read-only</c>.</summary>
    public string ToolSet { get; set; } = "all";

    /// <summary>Browser origins, besides the server's own, that may call it (e.g. <c>https://app.example.com</c>).</summary>
    public string[] AllowedOrigins { get; set; } = [];

    public static void Add(IServiceCollection services) =>
        services.AddOptions<McpSettings>().BindConfiguration(SectionName)
            .PostConfigure(s => s.ToolSet = s.ToolSet.Trim().ToLowerInvariant())
            // Checked in code rather than with data annotations, whose validator reflects over the options (not AOT-safe).
            .Validate(s => ToolSets.Contains(s.ToolSet), $"Mcp:ToolSet must be one of {string.Join(", ", ToolSets)}.")
            .Validate(s => s.AllowedOrigins.All(IsOrigin),
                "Mcp:AllowedOrigins must be origins: a scheme, a host and an optional port, without a path (e.g. https://app.example.com).")
            .ValidateOnStart();

    /// <summary>
    /// Where the task api is (<c>TaskApi:BaseAddress</c>; service discovery's <c>api</c> by default): absolute, http(s)
    /// or service discovery's scheme list (<c>https+http://api</c>).
    /// </summary>
    public static string ValidApiAddress(IConfiguration configuration)
    {
        var address = configuration["TaskApi:BaseAddress"] ?? "https+http://api";
        return Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "https+http" or "http+https"
            ? address
            : throw new OptionsValidationException("TaskApi", typeof(McpSettings),
                [$"TaskApi:BaseAddress '{address}' must be an absolute http(s) address, or a service name such as https+http://api."]);
    }

    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin.TrimEnd('/'), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.UserInfo.Length == 0
        && string.Equals(origin.TrimEnd('/'), uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);
}
