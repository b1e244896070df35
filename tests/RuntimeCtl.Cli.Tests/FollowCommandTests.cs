using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

public sealed class FollowCommandTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public async Task Follow_PrintsTheLastAcksThenEachNewOne_UntilCancelled()
    {
        // Arrange: two acks before the follow starts.
        const string Old2 = """{"id":"old2","status":"applied"}""";
        const string New1 = """{"id":"new1","status":"failed","error":"no"}""";
        _q.AppendAck("""{"id":"old1","status":"applied"}""" + "\n" + Old2 + "\n");
        using var cancel = new CancellationTokenSource();
        using var stdout = new LiveOutput { NewLine = "\n" };
        using var stderr = new StringWriter();
        var follow = Task.Run(() => Cli.Run(["-q", _q.Dir, "status", "--follow", "--last", "1"], stdout, stderr, new Dictionary<string, string?>(), cancellationToken: cancel.Token));

        // Act: an ack written once the follow printed the old one, then Ctrl-C once it printed the new one.
        await Eventually.UntilAsync(() => stdout.Text.Contains(Old2 + "\n", StringComparison.Ordinal), "last old ack on stdout");
        _q.AppendAck(New1 + "\n");
        await Eventually.UntilAsync(() => stdout.Text.Contains(New1 + "\n", StringComparison.Ordinal), "new ack on stdout");
        cancel.Cancel();
        var exit = await follow;

        // Assert
        Assert.Equal(0, exit);
        Assert.Equal([Old2, New1], stdout.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(stderr.ToString());
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
