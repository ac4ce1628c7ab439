using TaskManager.Api.Tasks.Claims;
using TaskManager.Api.Tasks.Leases;
using TaskManager.Api.Tasks.Ordering;

namespace TaskManager.Api.Tasks;

public static class TasksExtensions
{
    public static WebApplicationBuilder AddTasks(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TaskStore>();
        builder.Services.AddSingleton<ClaimStore>();
        builder.Services.AddSingleton<OrderingStore>();
        builder.Services.AddSingleton<LeaseStore>();
        builder.Services.AddOptions<LeaseOptions>().BindConfiguration(LeaseOptions.SectionName)
            .Validate(o => o.SweepInterval >= TimeSpan.FromMilliseconds(100) && o.SweepInterval <= TimeSpan.FromMinutes(10),
                "Leases:SweepInterval must be between 00:00:00.1 and 00:10:00.")
            .ValidateOnStart();
        builder.Services.AddHostedService<LeaseSweeper>();
        return builder;
    }
}
