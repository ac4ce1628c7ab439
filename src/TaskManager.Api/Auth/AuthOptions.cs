namespace TaskManager.Api.Auth;

/// <summary>Checked on start by <see cref="AuthExtensions.AddTokenAuth"/>.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";
    public const int MinAdminTokenLength = 16;
    public const int MaxAdminNameLength = 64;

    /// <summary>
    /// The first admin token (Aspire secret parameter <c>admin-token</c>); it creates every other token. Required, at
    /// least <see cref="MinAdminTokenLength"/> characters.
    /// </summary>
    public string AdminToken { get; set; } = "";

    /// <summary>The actor name recorded for changes made with the admin token. Required, at most <see cref="MaxAdminNameLength"/> characters.</summary>
    public string AdminName { get; set; } = "admin";
}
