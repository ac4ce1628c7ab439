using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of one test's own, from the local binaries (eng/prerequisites.sh installs them), for tests that
/// stop, pause or restart the database under a running api. Trust authentication on loopback; removed afterwards.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(1);
    private readonly string _bin;
    private readonly string _directory;

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres";

    private PrivatePostgres(string bin, string directory, int port) => (_bin, _directory, Port) = (bin, directory, port);

    private static string Binaries() =>
        Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin"))
            .Where(b => File.Exists(Path.Combine(b, "postgres"))).OrderBy(b => b, StringComparer.Ordinal).LastOrDefault()
        ?? throw new InvalidOperationException("No PostgreSQL server binaries under /usr/lib/postgresql: run eng/prerequisites.sh --test.");

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Binaries();
        var directory = Directory.CreateTempSubdirectory("taskmanager-pg-").FullName;
        if (Environment.IsPrivilegedProcess)
        {
            // PostgreSQL refuses to run as root: the server runs as the postgres user, in a folder it owns.
            await RunAsync("chown", "postgres:postgres", directory);
        }
        var server = new PrivatePostgres(bin, directory, FreePort());
        await server.RunPostgresAsync("initdb", "-D", server.DataDirectory, "-U", "postgres", "--auth=trust", "--no-sync");
        await server.StartAgainAsync();
        return server;
    }

    private string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>Starts the server (again), waiting until it accepts connections.</summary>
    public Task StartAgainAsync() => RunPostgresAsync("pg_ctl", "-D", DataDirectory, "-l", Path.Combine(_directory, "log"), "-w",
        "-o", $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start");

    /// <summary>Stops the server: "fast" (sessions are ended) or "immediate" (as a crash).</summary>
    public Task StopAsync(string mode = "fast") => RunPostgresAsync("pg_ctl", "-D", DataDirectory, "-m", mode, "-w", "stop");

    /// <summary>Freezes the server and every backend (SIGSTOP): connections stay open, nothing answers.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    public Task ResumeAsync() => SignalAsync("CONT");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ResumeAsync();
            await StopAsync("immediate");
        }
        catch (Exception)
        {
            // Already stopped.
        }
        Directory.Delete(_directory, recursive: true);
    }

    private async Task SignalAsync(string signal)
    {
        var postmaster = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First().Trim();
        // The postmaster and its children (backends and helpers).
        var pids = Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(p => p!.All(char.IsAsciiDigit))
            .Where(p => p == postmaster || ParentOf(p!) == postmaster).ToArray();
        // A backend may exit between the listing and the signal: that one needs no signal.
        var result = await ChildProcess.RunAsync(new ProcessStartInfo("kill", [$"-{signal}", .. pids!]), CommandTimeout);
        var errors = result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (result.ExitCode != 0 && !errors.All(e => e.EndsWith("No such process", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"kill -{signal} {string.Join(' ', pids)} failed ({result.ExitCode}): {result.Errors}");
        }
    }

    private static string? ParentOf(string pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1];
        }
        catch (IOException)
        {
            return null;
        }
    }

    private Task RunPostgresAsync(string tool, params string[] args) => RunToolAsync(_bin, tool, args);

    /// <summary>Runs a PostgreSQL tool (pg_ctl, initdb) of the local binaries, as the postgres user when we are root.</summary>
    public static Task RunToolAsync(string tool, params string[] args) => RunToolAsync(Binaries(), tool, args);

    private static Task RunToolAsync(string bin, string tool, string[] args) => Environment.IsPrivilegedProcess
        ? RunAsync("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", Path.Combine(bin, tool), .. args])
        : RunAsync(Path.Combine(bin, tool), args);

    private static async Task RunAsync(string file, params string[] args)
    {
        var result = await ChildProcess.RunAsync(new ProcessStartInfo(file, args), CommandTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({result.ExitCode}): {result.Errors}{result.Output}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
