using System.Net;
using System.Net.Sockets;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of a real server that can lose replies: while <see cref="DropReplies"/> is above zero,
/// a connection's request reaches the server whole, the server's answer is read and thrown away, and the client's
/// connection is reset, as when a reply is lost to a network failure after the server has acted. Each lost reply
/// counts <see cref="DropReplies"/> down.
/// </summary>
public sealed class ReplyDroppingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _dropReplies;

    public ReplyDroppingProxy(Uri target)
    {
        _target = target;
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>How many connections still lose their reply (set it before the request).</summary>
    public int DropReplies
    {
        get => Volatile.Read(ref _dropReplies);
        set => Volatile.Write(ref _dropReplies, value);
    }

    /// <summary>A client that opens a new connection for each request, so each request meets the proxy's current setting.</summary>
    public HttpClient CreateClient(string token)
    {
        var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, MaxConnectionsPerServer = 1 })
        {
            BaseAddress = Address,
        };
        client.DefaultRequestHeaders.ConnectionClose = true;
        return AppFixture.Authorize(client, token);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(_target.Host, _target.Port, _stop.Token);
                var toServer = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
                if (Interlocked.Decrement(ref _dropReplies) >= 0)
                {
                    // The server acts on the request and answers; the answer goes nowhere.
                    var buffer = new byte[1];
                    await server.GetStream().ReadExactlyAsync(buffer, _stop.Token);
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Client.Close();
                    return;
                }
                Interlocked.Increment(ref _dropReplies);
                await Task.WhenAny(toServer, server.GetStream().CopyToAsync(client.GetStream(), _stop.Token));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // One side went away: so does this connection.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
