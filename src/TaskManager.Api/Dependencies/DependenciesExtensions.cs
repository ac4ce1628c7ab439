namespace TaskManager.Api.Dependencies;

public static class DependenciesExtensions
{
    public static WebApplicationBuilder AddDependencies(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DependencyStore>();
        return builder;
    }
}
