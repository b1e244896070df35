using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RuntimeCtl.Cli.Dashboard;

/// <summary>
/// The dashboard of <c>runtimectl serve</c>: a minimal-API server (Kestrel, <see cref="WebApplication.CreateSlimBuilder()"/>,
/// Native AOT safe) over one queue directory, with a random token that every request must carry.
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, Uri baseAddress, string token, DashboardApi api)
    {
        _app = app;
        Api = api;
        BaseAddress = baseAddress;
        Token = token;
    }

    /// <summary>Gets the API behind the server.</summary>
    internal DashboardApi Api { get; }

    /// <summary>Gets the address the server listens on, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets the token every request must carry.</summary>
    public string Token { get; }

    /// <summary>Gets the page's address with the token, as printed for the user.</summary>
    public Uri Url => new(BaseAddress, "/?token=" + Token);

    /// <summary>Starts a server on <paramref name="host"/>:<paramref name="port"/> (0 picks a free port).</summary>
    public static async Task<DashboardServer> StartAsync(string queueDirectory, IPAddress host, int port, bool allowShared, TimeProvider time, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(DashboardServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Only the CLI's options decide where it listens: no Kestrel endpoints from the environment
        // (Kestrel__Endpoints__*, ASPNETCORE_URLS) or an appsettings.json beside the binary.
        builder.Configuration.Sources.Clear();
        if (host.IsIPv4MappedToIPv6)
        {
            host = host.MapToIPv4(); // ::ffff:127.0.0.1 is 127.0.0.1
        }

        // The server's own logs would mix with the URL on stdout; errors surface as HTTP 500s instead.
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = DashboardApi.MaxBodyBytes;
            kestrel.Limits.MaxConcurrentConnections = MaxConnections;
            kestrel.Listen(host, port);
        });

        // Ctrl-C and SIGTERM belong to the caller (Program, or a test), not to the host.
        builder.Services.AddSingleton<IHostLifetime, CallerLifetime>();

        var token = Base64UrlToken();
        var app = builder.Build();

        // The port is known once Kestrel listens; the API (which checks each request's Host against it) is mapped
        // before, and learns the address through this holder.
        var bound = new BoundAddress();
        app.Use((context, next) => bound.Api!.Guard(context, next));
        DashboardApi.MapRoutes(app, () => bound.Api!);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException(e.Message, e);
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel started without an address.");
        var uri = new Uri(address.TrimEnd('/') + "/");
        bound.Api = new DashboardApi(Path.GetFullPath(queueDirectory), token, allowShared, time, new IPEndPoint(host, uri.Port));
        return new DashboardServer(app, uri, token, bound.Api);
    }

    /// <summary>Stops the server; open event streams end.</summary>
    public async ValueTask DisposeAsync()
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stopping.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The most connections served at once.</summary>
    public const int MaxConnections = 64;

    private static string Base64UrlToken() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));

    private sealed class BoundAddress
    {
        public DashboardApi? Api { get; set; }
    }

    private sealed class CallerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
