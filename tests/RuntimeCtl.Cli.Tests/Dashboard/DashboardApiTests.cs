using System.Net;
using System.Text.Json;
using RuntimeCtl.Cli.Tests.EndToEnd;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests.Dashboard;

/// <summary>The dashboard's API against the real server on a loopback port.</summary>
public sealed class DashboardApiTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(30);

    private readonly TempQueueDirectory _q = new();
    private DashboardFixture _server = null!;

    public async Task InitializeAsync()
    {
        _q.Create();
        _server = await DashboardFixture.StartAsync(_q.Dir);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
    }

    public void Dispose() => _q.Dispose();

    [Theory]
    [InlineData("/")]
    [InlineData("/api/state")]
    [InlineData("/api/acks")]
    [InlineData("/api/commands")]
    [InlineData("/api/metrics")]
    [InlineData("/api/events")]
    [InlineData("/api/status")]
    [InlineData("/api/history")]
    [InlineData("/api/ack?id=x&offset=0")]
    public async Task Get_WithoutToken_Is401(string path)
    {
        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, path, bearer: false));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("/api/ack", "give the command's id")]
    [InlineData("/api/ack?id=x&offset=-1", "give the command's id")]
    [InlineData("/api/ack?id=x&offset=0&wait=601", "wait must be a number of seconds from 0 to 600")]
    [InlineData("/api/history?status=done", "status must be applied, rejected, failed or pending")]
    [InlineData("/api/status?last=-1", "last must be a whole number")]
    public async Task Get_RemoteCliEndpointWithBadQuery_Is400(string path, string message)
    {
        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, path));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"a b\"")]
    [InlineData("\"0123456789012345678901234567890123\"")]
    [InlineData("7")]
    public async Task Post_BadSource_Is400AndQueuesNothing(string source)
    {
        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Post, "/api/commands", $$"""{"path":"x","source":{{source}}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("must name the sender", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [Fact]
    public async Task Post_ThenGetAck_FindsTheAckAfterTheRepliedOffset()
    {
        using var posted = await _server.Http.SendAsync(_server.Request(HttpMethod.Post, "/api/commands", """{"path":"x","source":"tests"}"""));
        using var reply = JsonDocument.Parse(await posted.Content.ReadAsStringAsync());
        var command = reply.RootElement.GetProperty("command");
        var id = command.GetProperty("id").GetString()!;
        var offset = reply.RootElement.GetProperty("ack_offset").GetInt64();
        using var before = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, $"/api/ack?id={id}&offset={offset}&wait=0"));
        File.AppendAllText(_q.Acks, $$"""{"id":"{{id}}","status":"applied"}""" + "\n");
        using var after = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, $"/api/ack?id={id}&offset={offset}&wait=5"));

        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        Assert.Equal("tests", command.GetProperty("source").GetString());
        Assert.Equal(0, offset);
        Assert.Equal("""{"ack":null}""", await before.Content.ReadAsStringAsync());
        Assert.Equal("{\"ack\":{\"id\":\"" + id + "\",\"status\":\"applied\"}}", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_WithWrongToken_Is401()
    {
        using var response = await _server.Http.GetAsync("/api/state?token=" + new string('x', _server.Token.Length));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Get_WithTokenInQueryOrHeader_Succeeds()
    {
        using var byQuery = await _server.Http.GetAsync("/?token=" + _server.Token);
        using var byHeader = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, "/api/state"));

        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);
        var page = await byQuery.Content.ReadAsStringAsync();
        Assert.Contains("<link rel=\"icon\" href=\"data:,\">", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal(_q.Dir, Json(await byHeader.Content.ReadAsStringAsync()).GetProperty("queue_dir").GetString());
        Assert.False(byQuery.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Post_WithTokenOnlyInUrl_IsRefusedAndSendsNothing()
    {
        using var request = _server.Request(HttpMethod.Post, "/api/commands?token=" + _server.Token, """{"path":"p","args":[1]}""", bearer: false);

        using var response = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_q.CommandLines());
    }

    [Fact]
    public async Task Post_WithTokenOnlyInCookie_IsRefused()
    {
        using var request = _server.Request(HttpMethod.Post, "/api/commands", """{"path":"p","args":[1]}""", bearer: false);
        request.Headers.Add("Cookie", "token=" + _server.Token);

        using var response = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_q.CommandLines());
    }

    [Fact]
    public async Task Post_FromAnotherOrigin_Is403()
    {
        using var request = _server.Request(HttpMethod.Post, "/api/commands", """{"path":"p","args":[1]}""");
        request.Headers.Add("Origin", "https://evil.example");

        using var response = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_q.CommandLines());
    }

    [Fact]
    public async Task Post_WritesTheSameBytesAsTheCli()
    {
        using var cliQueue = new TempQueueDirectory();
        var cli = InProcess.Run("-q", cliQueue.Dir, "save_ckpt", "0.5", "\"x\"", "[1,{\"a\":null}]", "--kwargs", """{"label":"été","n":2}""", "--at-step", "7");
        Assert.Equal(0, cli.ExitCode);

        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Post, "/api/commands",
            """{"path":"save_ckpt","args":[0.5,"x",[1,{"a":null}]],"kwargs":{"label":"été","n":2},"at_step":7}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var written = Assert.Single(_q.CommandLines());
        var reply = Json(await response.Content.ReadAsStringAsync()).GetProperty("command");
        Assert.Equal(written, reply.GetRawText());
        Assert.Equal(Normalize(Assert.Single(cliQueue.CommandLines())), Normalize(written));
    }

    [Fact]
    public async Task Post_UnknownPathOfAFreshTrainer_Is400WithSuggestion()
    {
        _q.WriteController(ageSeconds: 0);

        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Post, "/api/commands", """{"path":"model.dropot.p","args":[0.2]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetString();
        Assert.Contains("'model.dropout.p'", error, StringComparison.Ordinal);
        Assert.Empty(_q.CommandLines());
    }

    [Theory]
    [InlineData("""[1]""")]
    [InlineData("""{"args":[1]}""")]
    [InlineData("""{"path":"p","args":1}""")]
    [InlineData("""{"path":"p","kwargs":[1]}""")]
    [InlineData("""{"path":"p","at_step":-1}""")]
    [InlineData("""{"path":"p","atstep":3}""")]
    [InlineData("""{"path":""")]
    [InlineData("""{"path":"p","args":[1e999]}""")]
    [InlineData("""{"path":"p","args":[-1e400]}""")]
    public async Task Post_BadBody_Is400AndSendsNothing(string body)
    {
        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Post, "/api/commands", body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(Json(await response.Content.ReadAsStringAsync()).TryGetProperty("error", out _));
        Assert.Empty(_q.CommandLines());
    }

    [Fact]
    public async Task Post_Wait_ReturnsTheAckOnceWritten()
    {
        var ackWriter = Task.Run(async () =>
        {
            await Eventually.UntilAsync(() => _q.CommandLines().Length > 0, "the command the dashboard queues", Bounded);

            var id = _q.CommandObjects()[0].GetProperty("id").GetString();
            _q.AppendAck($$"""{"id":"{{id}}","ts":1.5,"path":"p","op":"set","status":"failed","error":"no"}""" + "\n");
        });

        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Post, "/api/commands?wait=30", """{"path":"p","args":[1]}"""));
        await ackWriter;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal(reply.GetProperty("command").GetProperty("id").GetString(), reply.GetProperty("ack").GetProperty("id").GetString());
        Assert.Equal("no", reply.GetProperty("ack").GetProperty("error").GetString());
    }

    [Fact]
    public async Task Post_WaitWithoutTrainer_Is202WithNullAck()
    {
        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Post, "/api/commands?wait=0.2", """{"path":"p"}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(JsonValueKind.Null, Json(await response.Content.ReadAsStringAsync()).GetProperty("ack").ValueKind);
        Assert.Single(_q.CommandLines());
    }

    [Fact]
    public async Task Events_NewAckAndCommandLines_AreDelivered()
    {
        using var cancel = new CancellationTokenSource(Bounded);
        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, "/api/events"), HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.Equal("retry: 2000", await reader.ReadLineAsync(cancel.Token));

        _q.AppendAck("""{"id":"abc","ts":2.5,"path":"p","op":"set","status":"applied","args":[1],"kwargs":{}}""" + "\n");
        _q.AppendRaw("""{"id":"def","ts":3.5,"op":"set","path":"p","args":[],"kwargs":{}}""" + "\n");

        var seen = new List<string>();
        while (!(seen.Contains("data: " + """{"id":"abc","ts":2.5,"path":"p","op":"set","status":"applied","args":[1],"kwargs":{}}""") && seen.Any(l => l.Contains("\"def\"", StringComparison.Ordinal))))
        {
            seen.Add(await reader.ReadLineAsync(cancel.Token) ?? throw new InvalidOperationException("the stream ended: " + string.Join('|', seen)));
        }

        Assert.Contains("event: ack", seen);
        Assert.Contains("event: command", seen);
    }

    [Fact]
    public async Task Metrics_ReturnsTheReportedPoints()
    {
        using (var rt = new RuntimeController<object>(new RuntimeControllerOptions()))
        {
            rt.Configure(_q.Dir);
            for (var step = 0; step < 10; step++)
            {
                rt.Report(step, "loss", 10 - step);
                rt.Report(step, "lr", 0.1);
            }

            rt.FlushMetrics();
        }

        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, "/api/metrics?name=loss&since_step=5"));

        var series = Assert.Single(Json(await response.Content.ReadAsStringAsync()).GetProperty("series").EnumerateArray());
        Assert.Equal("loss", series.GetProperty("name").GetString());
        Assert.Equal([5L, 6, 7, 8, 9], series.GetProperty("points").EnumerateArray().Select(p => p[0].GetInt64()));
        Assert.Equal(5.0, series.GetProperty("points")[0][1].GetDouble());
    }

    [Fact]
    public async Task AcksAndCommands_ReturnTheLastLines()
    {
        for (var i = 0; i < 5; i++)
        {
            _q.AppendAck($$"""{"id":"a{{i}}","status":"applied"}""" + "\n");
        }

        using var response = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, "/api/acks?last=2"));
        using var bad = await _server.Http.SendAsync(_server.Request(HttpMethod.Get, "/api/acks?last=x"));

        Assert.Equal(["a3", "a4"], Json(await response.Content.ReadAsStringAsync()).GetProperty("acks").EnumerateArray().Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    private static JsonElement Json(string text) => TempQueueDirectory.Parse(text);

    private static string Normalize(string line)
    {
        var element = Json(line);
        Assert.Equal(["id", "ts", "op", "path", "args", "kwargs", "at_step"], TempQueueDirectory.Keys(element));
        return System.Text.RegularExpressions.Regex.Replace(line, "^\\{\"id\":\"[0-9a-f-]{36}\",\"ts\":[0-9.]+,", "{");
    }
}

/// <summary>The dashboard in front of a real QuickStart: a POST with ?wait= gets the trainer's ack.</summary>
public sealed class DashboardQuickStartTests(RunningQuickStart quickStart) : IClassFixture<RunningQuickStart>
{
    [Fact]
    public async Task Post_Wait_ReturnsTheTrainersAck()
    {
        await using var server = await DashboardFixture.StartAsync(quickStart.Dir);

        using var applied = await server.Http.SendAsync(server.Request(HttpMethod.Post, "/api/commands?wait=30", """{"path":"model.dropout.p","args":[0.25]}"""));
        using var failed = await server.Http.SendAsync(server.Request(HttpMethod.Post, "/api/commands?wait=30", """{"path":"model.dropout.p","args":[2]}"""));

        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        Assert.Equal("applied", TempQueueDirectory.Parse(await applied.Content.ReadAsStringAsync()).GetProperty("ack").GetProperty("status").GetString());
        var ack = TempQueueDirectory.Parse(await failed.Content.ReadAsStringAsync()).GetProperty("ack");
        Assert.Equal("failed", ack.GetProperty("status").GetString());
        Assert.Equal("dropout p must be in [0,1)", ack.GetProperty("error").GetString());
    }
}
