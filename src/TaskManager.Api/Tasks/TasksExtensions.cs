using TaskManager.Api.Tasks.Claims;
using TaskManager.Api.Tasks.Ordering;

namespace TaskManager.Api.Tasks;

public static class TasksExtensions
{
    public static WebApplicationBuilder AddTasks(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TaskStore>();
        builder.Services.AddSingleton<ClaimStore>();
        builder.Services.AddSingleton<OrderingStore>();
        return builder;
    }
}
