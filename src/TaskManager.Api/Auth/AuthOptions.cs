using System.ComponentModel.DataAnnotations;

namespace TaskManager.Api.Auth;

public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>The first admin token (Aspire secret parameter <c>admin-token</c>); it creates every other token.</summary>
    [Required, MinLength(16, ErrorMessage = "Auth:AdminToken must be at least 16 characters.")]
    public string AdminToken { get; set; } = "";

    /// <summary>The actor name recorded for changes made with the admin token.</summary>
    [Required, MaxLength(64)]
    public string AdminName { get; set; } = "admin";
}
