using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aspire.Hosting;

/// <summary>
/// Runs PostgreSQL from the machine's server binaries as an Aspire executable resource.
/// </summary>
/// <remarks>
/// The data directory is initialised on first start and kept between runs (or thrown away when ephemeral).
/// PostgreSQL refuses to run as root, so an AppHost running as root starts it as the <c>postgres</c> OS user.
/// Aspire does not pass an executable's state on to its children, so the database resources mirror the server's
/// state themselves; without that, <c>WaitFor(database)</c> would wait forever.
/// </remarks>
public static class LocalPostgresBuilderExtensions
{
    private const string ServiceUser = "postgres";
    private static readonly string EphemeralRoot = Path.Combine(Path.GetTempPath(), "taskmanager-postgres");

    public static IResourceBuilder<LocalPostgresServerResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder, string name, string? binDirectory, string? dataDirectory, bool ephemeral)
    {
        if (binDirectory is not null && !File.Exists(Path.Combine(binDirectory, "postgres")))
        {
            throw new DistributedApplicationException(
                $"Postgres:BinDirectory '{binDirectory}' has no 'postgres' server binary. Point it at the folder holding postgres and initdb, or remove the setting.");
        }
        var bin = binDirectory ?? FindServerBinaries() ?? throw new DistributedApplicationException(
            "No PostgreSQL server binaries were found. Either install PostgreSQL (Debian/Ubuntu: sudo apt-get install -y postgresql; " +
            "eng/prerequisites.sh does it) or set Postgres:BinDirectory, or run it in a container (Postgres:Mode=container), " +
            "or set Postgres:Mode=external with ConnectionStrings:tasks.");

        var root = ephemeral ? CreateEphemeralRoot(builder) : dataDirectory ?? DefaultDataRoot(name);
        Directory.CreateDirectory(root);
        // The postgres OS user must be able to reach the data directory inside, whatever our umask is.
        AllowTraversal(root);
        if (!ephemeral && dataDirectory is null)
        {
            AllowTraversal(Path.GetDirectoryName(root)!);
        }
        var dataPath = Path.Combine(root, "data");
        var password = builder.AddParameter($"{name}-password", ReadOrCreatePassword(root, "password"), secret: true);
        var applicationPassword = builder.AddParameter($"{name}-app-password", ReadOrCreatePassword(root, "app-password"), secret: true);

        var runAsServiceUser = Environment.IsPrivilegedProcess;
        var port = FreeLoopbackPort();
        string[] serverArgs = [Path.Combine(bin, "postgres"), "-D", dataPath, "-h", "127.0.0.1", "-p", port.ToString(), "-k", ""];
        var server = new LocalPostgresServerResource(
            name,
            runAsServiceUser ? "setpriv" : serverArgs[0],
            root,
            password.Resource,
            applicationPassword.Resource);

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(server, async (_, ct) =>
            connectionString = await server.ConnectionStringExpression.GetValueAsync(ct));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, async (@event, ct) =>
        {
            var logger = @event.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
            var notifications = @event.Services.GetRequiredService<ResourceNotificationService>();
            foreach (var database in server.Databases)
            {
                await notifications.PublishUpdateAsync(database, s => s with { State = KnownResourceStates.Starting });
            }
            // From the start, so a server that never gets ready fails its databases (and whatever waits for them) too.
            MirrorTerminalStates(server, notifications, @event.Services.GetRequiredService<IHostApplicationLifetime>());
            await WaitForPreviousServerAsync(dataPath, logger, ct);
            await InitializeDataDirectoryAsync(bin, dataPath, await password.Resource.GetValueAsync(ct) ?? "", runAsServiceUser, logger, ct);
        });

        builder.Eventing.Subscribe<ResourceReadyEvent>(server, async (@event, ct) =>
            await ApplicationRole.ReadyAsync(connectionString!, await applicationPassword.Resource.GetValueAsync(ct) ?? "", server.Databases,
                @event.Services.GetRequiredService<ResourceNotificationService>(), ct));

        // Not "{name}_check": Postgres:Mode=auto may have registered that for the container it then did not use.
        var healthCheckKey = $"{name}_local_check";
        builder.Services.AddHealthChecks().AddNpgSql(
            _ => $"{connectionString ?? throw new InvalidOperationException("The connection string is not available yet.")};Database=postgres;Pooling=false",
            name: healthCheckKey);

        return builder.AddResource(server)
            .WithArgs(runAsServiceUser
                ? ["--reuid=" + ServiceUser, "--regid=" + ServiceUser, "--init-groups", "--", .. serverArgs]
                : serverArgs[1..])
            .WithEndpoint(port: port, targetPort: port, name: LocalPostgresServerResource.PrimaryEndpointName, scheme: "tcp", isProxied: false)
            .WithHealthCheck(healthCheckKey)
            .WithIconName("Database")
            .ExcludeFromManifest();
    }

    public static IResourceBuilder<ApplicationDatabaseResource> AddDatabase(
        this IResourceBuilder<LocalPostgresServerResource> builder, string name, string? databaseName = null)
    {
        var server = builder.Resource;
        var database = new ApplicationDatabaseResource(name, databaseName ?? name, server, server.PrimaryEndpoint, server.ApplicationPasswordParameter);
        server.Databases.Add(database);
        return builder.ApplicationBuilder.AddApplicationDatabase(database).ExcludeFromManifest();
    }

    private static void MirrorTerminalStates(
        LocalPostgresServerResource server, ResourceNotificationService notifications, IHostApplicationLifetime lifetime) =>
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var update in notifications.WatchAsync(lifetime.ApplicationStopping))
                {
                    if (update.Resource != server || update.Snapshot.State?.Text is not { } state
                        || !KnownResourceStates.TerminalStates.Contains(state))
                    {
                        continue;
                    }
                    foreach (var database in server.Databases)
                    {
                        await notifications.PublishUpdateAsync(database, s => s with
                        {
                            State = update.Snapshot.State,
                            StopTimeStamp = DateTime.UtcNow,
                        });
                    }
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                // The AppHost is stopping.
            }
        });

    private static async Task InitializeDataDirectoryAsync(
        string bin, string dataPath, string password, bool runAsServiceUser, ILogger logger, CancellationToken ct)
    {
        if (File.Exists(Path.Combine(dataPath, "PG_VERSION")))
        {
            return;
        }

        logger.LogInformation("Initialising a new PostgreSQL data directory at {DataPath}", dataPath);
        Directory.CreateDirectory(dataPath);
        var passwordFile = Path.Combine(Path.GetDirectoryName(dataPath)!, "initdb-password");
        WritePrivate(passwordFile, password);
        try
        {
            if (runAsServiceUser)
            {
                await RunAsync("chown", [$"{ServiceUser}:{ServiceUser}", dataPath, passwordFile], logger, ct);
            }
            RestrictToOwner(dataPath, UnixFileMode.UserExecute);

            string[] initdb = [Path.Combine(bin, "initdb"), "-D", dataPath, "-U", "postgres", "-E", "UTF8", "--no-locale",
                "--auth=scram-sha-256", $"--pwfile={passwordFile}"];
            if (runAsServiceUser)
            {
                await RunAsync("setpriv", ["--reuid=" + ServiceUser, "--regid=" + ServiceUser, "--init-groups", "--", .. initdb], logger, ct);
            }
            else
            {
                await RunAsync(initdb[0], initdb[1..], logger, ct);
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private static async Task RunAsync(string command, string[] args, ILogger logger, CancellationToken ct)
    {
        using var process = Process.Start(new ProcessStartInfo(command, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new DistributedApplicationException($"Could not start {command}.");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        logger.LogDebug("{Command}: {Output}", command, await output);
        if (process.ExitCode != 0)
        {
            throw new DistributedApplicationException($"{command} failed with exit code {process.ExitCode}: {await errors}");
        }
    }

    /// <summary>The newest of /usr/lib/postgresql/*/bin with a server and initdb (Debian and Ubuntu install them there).</summary>
    internal static string? FindServerBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "postgres")) && File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    /// <summary>
    /// The data folder must be reachable by the <c>postgres</c> user when we run as root, and root's home is not.
    /// </summary>
    private static string DefaultDataRoot(string name) => Environment.IsPrivilegedProcess
        ? Path.Combine("/var/lib/taskmanager", name)
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "taskmanager", name);

    /// <summary>
    /// A throwaway data folder, removed when the AppHost stops. Aspire raises no stop event for resources on
    /// shutdown, so we clean up on application stop and also remove folders left behind by AppHosts that died.
    /// </summary>
    private static string CreateEphemeralRoot(IDistributedApplicationBuilder builder)
    {
        Directory.CreateDirectory(EphemeralRoot);
        AllowTraversal(EphemeralRoot);
        foreach (var stale in Directory.GetDirectories(EphemeralRoot))
        {
            var owner = Path.Combine(stale, "apphost.pid");
            if (!File.Exists(owner) || !int.TryParse(File.ReadAllText(owner), out var pid) || !ProcessIsAlive(pid))
            {
                TryDelete(stale);
            }
        }

        var root = Path.Combine(EphemeralRoot, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "apphost.pid"), Environment.ProcessId.ToString());
        builder.Services.AddHostedService(sp => new EphemeralDirectoryCleanup(root));
        return root;
    }

    private sealed class EphemeralDirectoryCleanup(string root) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            TryDelete(root);
            return Task.CompletedTask;
        }
    }

    private static bool ProcessIsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a later start removes it.
        }
    }

    /// <summary>Kept beside the data so a persistent data directory and its passwords stay in step.</summary>
    private static string ReadOrCreatePassword(string root, string name)
    {
        var file = Path.Combine(root, name);
        if (File.Exists(file))
        {
            return File.ReadAllText(file).Trim();
        }
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        WritePrivate(file, password);
        return password;
    }

    /// <summary>Writes a secret into a file that is the owner's alone from the moment it exists (not after a chmod).</summary>
    private static void WritePrivate(string path, string text)
    {
        // CreateNew: the mode applies only to a file this call creates (a stale one from a crashed start goes first).
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var writer = new StreamWriter(path, options);
        writer.Write(text);
    }

    /// <summary>How long a start waits for a PostgreSQL that still runs on the data directory (a previous run stopping).</summary>
    private static readonly TimeSpan PreviousServerWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A persistent data directory may still be in use by the server of a previous run that is shutting down (the app
    /// stopped and was started again at once): a second server on it would fail to start. Wait for that one to exit,
    /// for a while; if it does not, say which process holds the directory.
    /// </summary>
    private static async Task WaitForPreviousServerAsync(string dataPath, ILogger logger, CancellationToken ct)
    {
        var pidFile = Path.Combine(dataPath, "postmaster.pid");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var logged = false;
        while (RunningServer(pidFile) is { } pid)
        {
            if (waited.Elapsed > PreviousServerWait)
            {
                var message = $"PostgreSQL (process {pid}) is still running on the data directory {dataPath} after {PreviousServerWait.TotalSeconds:0} s: " +
                              $"another TaskManager AppHost uses it, or a previous one did not stop. Stop that AppHost (or the process: kill {pid}) " +
                              "and start again, or give this one another Postgres:DataDirectory.";
                logger.LogError("{Message}", message);
                throw new DistributedApplicationException(message);
            }
            if (!logged)
            {
                logger.LogInformation("Waiting for the PostgreSQL of a previous run (process {Pid}) to stop using {DataPath}", pid, dataPath);
                logged = true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
    }

    /// <summary>The process id in postmaster.pid when that process is alive and a PostgreSQL server; null otherwise.</summary>
    private static int? RunningServer(string pidFile)
    {
        string? firstLine;
        try
        {
            firstLine = File.Exists(pidFile) ? File.ReadLines(pidFile).FirstOrDefault() : null;
        }
        catch (IOException)
        {
            return null; // Removed while we read it: the server stopped.
        }
        if (!int.TryParse(firstLine, out var pid) || !ProcessIsAlive(pid))
        {
            return null;
        }
        // A stale file whose pid was reused by another program does not hold the directory (PostgreSQL checks the same).
        try
        {
            var name = File.ReadAllText($"/proc/{pid}/comm").Trim();
            return name.StartsWith("postgres", StringComparison.Ordinal) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void AllowTraversal(string directory)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, File.GetUnixFileMode(directory) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
    }

    private static void RestrictToOwner(string path, UnixFileMode extra = UnixFileMode.None)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
