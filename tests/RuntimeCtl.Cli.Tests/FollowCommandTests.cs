using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

public sealed class FollowCommandTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public async Task Follow_PrintsTheLastAcksThenEachNewOne_UntilCancelled()
    {
        _q.AppendAck("""{"id":"old1","status":"applied"}""" + "\n" + """{"id":"old2","status":"applied"}""" + "\n");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var writer = Task.Run(async () =>
        {
            await Task.Delay(300);
            _q.AppendAck("""{"id":"new1","status":"failed","error":"no"}""" + "\n");
            await Task.Delay(300);
            cancel.Cancel();
        });

        var result = InProcess.Run(["-q", _q.Dir, "status", "--follow", "--last", "1"], new Dictionary<string, string?>(), cancellationToken: cancel.Token);
        await writer;

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["""{"id":"old2","status":"applied"}""", """{"id":"new1","status":"failed","error":"no"}"""], result.StdoutLines);
    }

    [Theory]
    [InlineData("serve", "--follow")]
    [InlineData("controls", "--follow")]
    [InlineData("status", "--port")]
    [InlineData("p", "--host")]
    public void Follow_AndServeOptions_OnlyWhereTheyApply(string word, string option)
    {
        string[] args = option == "--follow" ? ["-q", _q.Dir, word, option] : ["-q", _q.Dir, word, option, "1"];

        var result = InProcess.Run(args);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains(option, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_RemoteHostWithoutAllowRemote_IsRefused()
    {
        var result = InProcess.Run("-q", _q.Dir, "serve", "--host", "0.0.0.0");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--allow-remote", result.Stderr, StringComparison.Ordinal);
    }
}
