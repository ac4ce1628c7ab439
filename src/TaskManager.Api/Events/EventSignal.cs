using System.Threading.Channels;

namespace TaskManager.Api.Events;

/// <summary>
/// How writers say "I committed events": this replica's streams wake at once, and one coalesced NOTIFY, sent after the
/// commit and outside it, wakes the other replicas. Writers never wait for it; a lost signal only delays delivery
/// until the broadcaster's next poll.
/// </summary>
public sealed class EventSignal
{
    private readonly Channel<bool> _announce = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private Action? _wakeLocal;

    /// <summary>Sent as the NOTIFY payload, so a replica can ignore the echo of its own announcements.</summary>
    public string ReplicaId { get; } = Guid.NewGuid().ToString("N");

    public void Committed()
    {
        _wakeLocal?.Invoke();
        _announce.Writer.TryWrite(true);
    }

    /// <summary>Announcements waiting to be sent: any number of commits since the last one read as one.</summary>
    internal ChannelReader<bool> Announcements => _announce.Reader;

    internal void OnCommitted(Action wake) => _wakeLocal = wake;
}
