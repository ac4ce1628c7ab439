namespace TaskManager.Api.Plans;

public static class PlansExtensions
{
    public static WebApplicationBuilder AddPlans(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PlanStore>();
        return builder;
    }
}
