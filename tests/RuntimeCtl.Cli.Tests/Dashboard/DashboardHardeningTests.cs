using System.Net;
using System.Net.Sockets;
using System.Text;
using RuntimeCtl.Cli.Dashboard;

namespace RuntimeCtl.Cli.Tests.Dashboard;

/// <summary>The security review's findings on <c>runtimectl serve</c>, against the real server and real processes.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DashboardHardeningTests : IAsyncLifetime, IDisposable
{
    private readonly TempQueueDirectory _q = new();
    private DashboardFixture _server = null!;

    public async Task InitializeAsync()
    {
        _q.Create();
        _server = await DashboardFixture.StartAsync(_q.Dir);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _q.Dispose();

    [Theory]
    [InlineData("evil.example")]
    [InlineData("attacker.test:80")]
    public async Task Request_WithAForeignHost_IsRefusedAndSendsNothing(string host)
    {
        // DNS rebinding: the attacker's name resolves to 127.0.0.1, the browser sends the attacker's Host.
        using var request = _server.Request(HttpMethod.Post, "/api/commands", """{"path":"p","args":[1],"force":true}""");
        request.Headers.Host = host;
        using var read = _server.Request(HttpMethod.Get, "/api/state");
        read.Headers.Host = host;

        using var response = await _server.Http.SendAsync(request);
        using var readResponse = await _server.Http.SendAsync(read);

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, readResponse.StatusCode);
        Assert.Empty(_q.CommandLines());
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    public async Task Request_WithALoopbackHost_IsServed(string name)
    {
        using var request = _server.Request(HttpMethod.Get, "/api/state");
        request.Headers.Host = $"{name}:{_server.Server.BaseAddress.Port}";

        using var response = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Page_OpenedWithTheTokenInTheUrl_ExchangesItForAStrictHttpOnlyCookieAndRedirects()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler) { BaseAddress = _server.Server.BaseAddress };

        using var first = await http.GetAsync("/?token=" + _server.Token);

        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal("/", first.Headers.Location!.OriginalString);
        var cookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        var pair = cookie.Split(';')[0];

        using var reload = new HttpRequestMessage(HttpMethod.Get, "/");
        reload.Headers.Add("Cookie", pair);
        using var page = await http.SendAsync(reload);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode); // a reload works with the cookie alone
        Assert.Contains(_server.Token, await page.Content.ReadAsStringAsync(), StringComparison.Ordinal); // the page's Bearer token for changes

        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/commands") { Content = new StringContent("""{"path":"p","args":[1],"force":true}""", Encoding.UTF8, "application/json") };
        post.Headers.Add("Cookie", pair);
        using var refused = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode); // a cookie never authorizes a change
        Assert.Empty(_q.CommandLines());
    }

    [Fact]
    public void Append_LineWithRawCarriageReturns_CannotForgeAnEvent()
    {
        var text = new StringBuilder();

        DashboardEvents.Append(text, "command", "{\"x\":1}\r\revent: ack\rdata: {\"forged\":true}\r\r\n");

        var events = text.ToString().Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(events); // one event, however the line tries to end it
        Assert.All(text.ToString().TrimEnd('\n').Split('\n'), l => Assert.True(l.StartsWith("event: command", StringComparison.Ordinal) || l.StartsWith("data: ", StringComparison.Ordinal), l));
        Assert.DoesNotContain('\r', text.ToString());
    }

    [Fact]
    public async Task Events_ManyStreams_ShareOneWatcherAndAreCapped()
    {
        var events = GetEvents();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < DashboardApi.MaxStreams; i++)
            {
                open.Add(await _server.Http.SendAsync(_server.Request(HttpMethod.Get, "/api/events"), HttpCompletionOption.ResponseHeadersRead, cancel.Token));
            }

            Assert.All(open, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            await WaitUntil(() => events.Streams == DashboardApi.MaxStreams, cancel.Token);
            Assert.True(events.Watching);
            using var extra = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, "/api/events"), HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, extra.StatusCode);
        }
        finally
        {
            foreach (var response in open)
            {
                response.Dispose();
            }
        }

        await WaitUntil(() => events.Streams == 0, cancel.Token);
        Assert.False(events.Watching); // the shared watcher goes with the last stream
    }

    [Fact]
    public void Serve_IPv4MappedLoopback_ListensOnLoopback()
    {
        using var serve = ChildProcess.StartDotnet(TestPaths.Cli, ["-q", _q.Dir, "serve", "--host", "::ffff:127.0.0.1", "--port", "0"]);
        var url = WaitForUrl(serve);

        Assert.StartsWith("http://127.0.0.1:", url, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_AddressNotOnThisMachine_FailsCleanly()
    {
        // 192.0.2.1 is TEST-NET-1: never an address of this machine, so binding fails; no packet is sent.
        var result = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", _q.Dir, "serve", "--host", "192.0.2.1", "--allow-remote", "--port", "0"], TimeSpan.FromMinutes(1));

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("cannot listen on 192.0.2.1", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_KestrelEndpointsInTheEnvironment_AreIgnored()
    {
        var extraPort = FreePort();
        using var serve = ChildProcess.StartDotnet(
            TestPaths.Cli,
            ["-q", _q.Dir, "serve", "--port", "0"],
            new Dictionary<string, string?>
            {
                ["Kestrel__Endpoints__Extra__Url"] = $"http://127.0.0.1:{extraPort}",
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{extraPort}",
            });
        WaitForUrl(serve);

        using var client = new TcpClient();
        Assert.ThrowsAny<SocketException>(() => client.Connect(IPAddress.Loopback, extraPort)); // nothing listens there
    }

    [Fact]
    public void Serve_Open_HandsTheBrowserA0600FileAndNotTheToken()
    {
        var record = Path.Combine(_q.Root, "browser.txt");
        var browser = Path.Combine(_q.Root, "browser.sh");
        File.WriteAllText(browser, $"#!/bin/sh\nf=\"${{1#file://}}\"\nprintf '%s\\n%s\\n%s\\n' \"$*\" \"$(stat -c %a \"$f\")\" \"$(cat \"$f\")\" > '{record}'\n");
        File.SetUnixFileMode(browser, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        using var serve = ChildProcess.StartDotnet(TestPaths.Cli, ["-q", _q.Dir, "serve", "--port", "0", "--open"], new Dictionary<string, string?> { ["BROWSER"] = browser });
        var url = WaitForUrl(serve);
        Eventually.Until(() => File.Exists(record) && File.ReadAllText(record).EndsWith('\n'), "record of the browser's start");

        var lines = File.ReadAllLines(record);
        var token = new Uri(url).Query["?token=".Length..];
        Assert.DoesNotContain(token, lines[0], StringComparison.Ordinal); // the browser's command line
        Assert.Equal("600", lines[1]);
        Assert.Contains(token, string.Join('\n', lines.Skip(2)), StringComparison.Ordinal); // the file holds the URL
    }

    private DashboardEvents GetEvents() => _server.Server.Api.Events;

    private static Task WaitUntil(Func<bool> condition, CancellationToken cancel) =>
        Eventually.UntilAsync(condition, "the expected number of event streams", cancellationToken: cancel);

    private static string WaitForUrl(ChildProcess serve)
    {
        string? Url() => serve.StdoutLines.FirstOrDefault(l => l.StartsWith("http", StringComparison.Ordinal));
        Eventually.Until(() => Url() is not null, "URL printed by serve", process: serve);
        return Url()!.Trim();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
