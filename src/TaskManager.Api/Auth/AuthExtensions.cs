using Microsoft.AspNetCore.Authentication;

namespace TaskManager.Api.Auth;

public static class AuthExtensions
{
    public static WebApplicationBuilder AddTokenAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.SectionName)
            // Checked in code rather than with data annotations, whose validator reflects over the options (not AOT-safe).
            // The messages are the ones the annotations gave.
            .Validate(o => !string.IsNullOrWhiteSpace(o.AdminToken), "The AdminToken field is required.")
            .Validate(o => string.IsNullOrWhiteSpace(o.AdminToken) || o.AdminToken.Length >= AuthOptions.MinAdminTokenLength,
                $"Auth:AdminToken must be at least {AuthOptions.MinAdminTokenLength} characters.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.AdminName), "The AdminName field is required.")
            .Validate(o => o.AdminName is not { Length: > AuthOptions.MaxAdminNameLength },
                $"The field AdminName must be a string or array type with a maximum length of '{AuthOptions.MaxAdminNameLength}'.")
            .ValidateOnStart();

        builder.Services.AddSingleton<TokenValidator>();
        builder.Services.AddSingleton<TokenStore>();
        builder.Services.AddSingleton<StreamTickets>();
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, _ => { });

        var authorization = builder.Services.AddAuthorizationBuilder();
        foreach (var scope in Scopes.All)
        {
            authorization.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().RequireClaim(Scopes.ClaimType, scope));
        }
        // Anything not explicitly opened (only the health probes are) needs a token.
        authorization.SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        return builder;
    }

    /// <summary>Requires <paramref name="scope"/> for every endpoint of the group.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(scope).WithMetadata(new RequiredScopeMetadata(scope));
}
