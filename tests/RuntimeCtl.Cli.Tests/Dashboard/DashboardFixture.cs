using System.Net;
using System.Net.Http.Headers;
using RuntimeCtl.Cli.Dashboard;

namespace RuntimeCtl.Cli.Tests.Dashboard;

/// <summary>A real dashboard server on a free loopback port over a queue directory, stopped at dispose.</summary>
public sealed class DashboardFixture : IAsyncDisposable
{
    private DashboardFixture(DashboardServer server)
    {
        Server = server;
        Http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    internal DashboardServer Server { get; }

    public HttpClient Http { get; }

    public string Token => Server.Token;

    public static async Task<DashboardFixture> StartAsync(string queueDirectory) =>
        new(await DashboardServer.StartAsync(queueDirectory, IPAddress.Loopback, 0, allowShared: false, TimeProvider.System));

    public HttpRequestMessage Request(HttpMethod method, string path, string? json = null, bool bearer = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (bearer)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
