namespace TaskManager.Api.Events;

public static class EventsExtensions
{
    public static WebApplicationBuilder AddEvents(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<EventStore>();
        builder.Services.AddSingleton<EventBroadcaster>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventBroadcaster>());
        return builder;
    }
}
