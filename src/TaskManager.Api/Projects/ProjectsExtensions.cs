namespace TaskManager.Api.Projects;

public static class ProjectsExtensions
{
    public static WebApplicationBuilder AddProjects(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ProjectStore>();
        return builder;
    }
}
