namespace TaskManager.Api.Events;

public sealed class EventStreamOptions
{
    public const string SectionName = "Events";

    public static readonly TimeSpan MinKeepAlive = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxKeepAlive = TimeSpan.FromMinutes(5);

    /// <summary>How often an idle stream re-checks its token and sends a keep-alive comment.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(20);
}

public static class EventsExtensions
{
    public static WebApplicationBuilder AddEvents(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EventStreamOptions>().BindConfiguration(EventStreamOptions.SectionName)
            // Checked in code rather than with data annotations, whose validator reflects over the options (not AOT-safe).
            .Validate(o => o.KeepAlive >= EventStreamOptions.MinKeepAlive && o.KeepAlive <= EventStreamOptions.MaxKeepAlive,
                $"The field KeepAlive must be between {EventStreamOptions.MinKeepAlive} and {EventStreamOptions.MaxKeepAlive}.")
            .ValidateOnStart();
        builder.Services.AddSingleton<EventStore>();
        builder.Services.AddSingleton<EventSignal>();
        builder.Services.AddSingleton<EventBroadcaster>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventBroadcaster>());
        return builder;
    }
}
