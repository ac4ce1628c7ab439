using System.ComponentModel.DataAnnotations;

namespace TaskManager.Api.Events;

public sealed class EventStreamOptions
{
    public const string SectionName = "Events";

    /// <summary>How often an idle stream re-checks its token and sends a keep-alive comment.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(20);
}

public static class EventsExtensions
{
    public static WebApplicationBuilder AddEvents(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EventStreamOptions>().BindConfiguration(EventStreamOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<EventStore>();
        builder.Services.AddSingleton<EventBroadcaster>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventBroadcaster>());
        return builder;
    }
}
