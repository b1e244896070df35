using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests.Remote;

/// <summary>
/// The CLI with <c>--url</c> against a real <c>runtimectl serve</c> process and a real trainer: each command run both
/// ways on the same queue, and the remote run must print and exit as the local one.
/// </summary>
public sealed class RemoteCliTests : IClassFixture<RunningServe>
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private readonly RunningServe _job;

    public RemoteCliTests(RunningServe job) => _job = job;

    private CliResult Local(string[] args, bool terminal = false) => InProcess.Run(["-q", _job.Dir, .. args], NoEnvironment, terminal);

    private CliResult Remote(string[] args, bool terminal = false, Dictionary<string, string?>? environment = null) =>
        InProcess.Run(["--url", _job.Url, .. args], environment ?? NoEnvironment, terminal);

    private int CommandLines => File.Exists(Path.Combine(_job.Dir, "commands.jsonl")) ? File.ReadAllLines(Path.Combine(_job.Dir, "commands.jsonl")).Length : 0;

    public static TheoryData<string[], int> SendCases => new()
    {
        { ["optimizer.lr.multiplier", "0.5", "--wait"], ExitCodes.Success },
        { ["save_ckpt", "--kwargs", """{"label":"remote"}""", "--wait"], ExitCodes.Success },
        { ["optimizer.lr.multiplier", "-1", "--wait"], ExitCodes.Failed },
        { ["no.such.control", "--force", "--wait", "--timeout", "30"], ExitCodes.Rejected },
        { ["optimizer.lr.multiplier", "1.0", "--at-step", "5", "--wait"], ExitCodes.Rejected }, // QuickStart polls without a step
        { ["optimizer.lr.multiplier", "1e999"], ExitCodes.Usage },
        { ["optimzer.lr.multiplier", "0.5", "--wait"], ExitCodes.Usage },
        { ["model.dropout.p", "0.1"], ExitCodes.Success },
    };

    [Theory]
    [MemberData(nameof(SendCases))]
    public void Send_ThroughTheDashboard_PrintsAndExitsAsLocally(string[] args, int expected)
    {
        var local = Local(args);
        var before = CommandLines;
        var remote = Remote(args);

        Assert.True(local.ExitCode == expected, local.ToString());
        Assert.True(remote.ExitCode == expected, remote.ToString());
        Assert.Equal(local.StdoutLines.Length, remote.StdoutLines.Length);
        Assert.Equal(before + remote.StdoutLines.Length switch { 0 => 0, _ => 1 }, CommandLines);
        Assert.Equal(local.Stderr.Replace(_job.Dir, "QUEUE", StringComparison.Ordinal), remote.Stderr.Replace(_job.BaseUrl, "QUEUE", StringComparison.Ordinal));
        if (remote.StdoutLines.Length == 0)
        {
            return;
        }

        var sentLocally = TempQueueDirectory.Parse(local.StdoutLines[0]);
        var sentRemotely = TempQueueDirectory.Parse(remote.StdoutLines[0]);
        foreach (var field in (string[])["op", "path", "args", "kwargs", "at_step"])
        {
            Assert.Equal(Field(sentLocally, field), Field(sentRemotely, field));
        }

        Assert.Equal("remote-cli", sentRemotely.GetProperty("source").GetString());
        if (remote.StdoutLines.Length == 2)
        {
            var ackLocally = TempQueueDirectory.Parse(local.StdoutLines[1]);
            var ackRemotely = TempQueueDirectory.Parse(remote.StdoutLines[1]);
            Assert.Equal(sentRemotely.GetProperty("id").GetString(), ackRemotely.GetProperty("id").GetString());
            Assert.Equal(Field(ackLocally, "status"), Field(ackRemotely, "status"));
            Assert.Equal(Field(ackLocally, "error"), Field(ackRemotely, "error"));
        }
    }

    [Fact]
    public void Send_UnknownPath_SuggestsTheServedControlsAndQueuesNothing()
    {
        var before = CommandLines;

        var remote = Remote(["dropout", "0.2"]);

        Assert.Equal(ExitCodes.Usage, remote.ExitCode);
        Assert.Contains($"the trainer on '{_job.BaseUrl}' has no control 'dropout'. Did you mean 'model.dropout.p'?", remote.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, CommandLines);
    }

    [Fact]
    public void Status_Json_MatchesLocal()
    {
        Assert.Equal(0, Local(["optimizer.lr.multiplier", "0.9", "--wait"]).ExitCode);

        var local = Local(["status", "--last", "3"]);
        var remote = Remote(["status", "--last", "3"]);

        Assert.True(remote.ExitCode == 0, remote.ToString());
        var l = local.Json;
        var r = remote.Json;
        Assert.Equal(TempQueueDirectory.Keys(l), TempQueueDirectory.Keys(r));
        Assert.Equal(Path.GetFullPath(_job.Dir), r.GetProperty("queue_dir").GetString());
        foreach (var field in (string[])["commands", "acks", "last_acks", "pending", "bad_ack_lines"])
        {
            Assert.Equal(Field(l, field), Field(r, field));
        }

        Assert.True(r.GetProperty("trainer").GetProperty("alive").GetBoolean());
        Assert.Equal(l.GetProperty("trainer").GetProperty("pid").GetInt64(), r.GetProperty("trainer").GetProperty("pid").GetInt64());
    }

    [Fact]
    public void Status_OnATerminal_MatchesLocalButForThePollAge()
    {
        Assert.Equal(0, Local(["model.dropout.p", "0.2", "--wait"]).ExitCode);

        var local = Local(["status", "--last", "2"], terminal: true);
        var remote = Remote(["status", "--last", "2"], terminal: true);

        Assert.True(remote.ExitCode == 0, remote.ToString());
        Assert.Equal(WithoutTrainerLine(local.StdoutLines), WithoutTrainerLine(remote.StdoutLines));
        Assert.StartsWith("Trainer   polling", remote.StdoutLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Controls_JsonAndTable_MatchLocal()
    {
        var localJson = Local(["controls"]).Json;
        var remoteJson = Remote(["controls"]).Json;
        var local = Local(["controls"], terminal: true);
        var remote = Remote(["controls"], terminal: true);

        Assert.Equal(Field(localJson, "controls"), Field(remoteJson, "controls"));
        Assert.Contains("optimizer.lr.multiplier", Field(remoteJson, "controls"), StringComparison.Ordinal);
        Assert.True(remote.ExitCode == 0, remote.ToString());
        Assert.Equal(WithoutTrainerLine(local.StdoutLines), WithoutTrainerLine(remote.StdoutLines));
    }

    [Fact]
    public void History_JsonAndTable_MatchLocal()
    {
        Assert.Equal(0, Local(["optimizer.lr.multiplier", "0.7", "--wait"]).ExitCode);
        Assert.Equal(ExitCodes.Failed, Remote(["optimizer.lr.multiplier", "0", "--wait"]).ExitCode);

        var local = Local(["history"]);
        var remote = Remote(["history"]);
        var localFailed = Local(["history", "--status", "failed"], terminal: true);
        var remoteFailed = Remote(["history", "--status", "failed"], terminal: true);

        Assert.True(remote.ExitCode == 0, remote.ToString());
        Assert.Equal(local.StdoutLines, remote.StdoutLines);
        Assert.Contains(remote.StdoutLines, l => l.Contains("\"source\":\"remote-cli\"", StringComparison.Ordinal));
        Assert.Equal(localFailed.StdoutLines, remoteFailed.StdoutLines);
        Assert.Contains(remoteFailed.StdoutLines, l => l.Contains("multiplier must be > 0", StringComparison.Ordinal));
    }

    [Fact]
    public void Send_WrongToken_IsAnErrorAndQueuesNothing()
    {
        var before = CommandLines;

        var remote = InProcess.Run(["--url", _job.BaseUrl + "/?token=wrong", "optimizer.lr.multiplier", "0.5"], NoEnvironment);

        Assert.Equal(ExitCodes.Error, remote.ExitCode);
        Assert.Contains("refused the token", remote.Stderr, StringComparison.Ordinal);
        Assert.Contains("Nothing was sent", remote.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", remote.Stderr.Replace("wrong token", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Empty(remote.Stdout);
        Assert.Equal(before, CommandLines);
    }

    [Fact]
    public void Token_FromFlagThenVariableThenUrl_InThatOrder()
    {
        var fromVariable = InProcess.Run(["--url", _job.BaseUrl, "status"], new Dictionary<string, string?> { ["RUNTIMECTL_TOKEN"] = _job.Token });
        var flagBeatsUrl = InProcess.Run(["--url", _job.BaseUrl + "/?token=wrong", "--token", _job.Token, "status"], NoEnvironment);
        var variableBeatsUrl = InProcess.Run(["--url", _job.BaseUrl + "/?token=wrong", "status"], new Dictionary<string, string?> { ["RUNTIMECTL_TOKEN"] = _job.Token });
        var flagBeatsVariable = InProcess.Run(["--url", _job.Url, "--token", "wrong", "status"], new Dictionary<string, string?> { ["RUNTIMECTL_TOKEN"] = _job.Token });

        Assert.True(fromVariable.ExitCode == 0, fromVariable.ToString());
        Assert.True(flagBeatsUrl.ExitCode == 0, flagBeatsUrl.ToString());
        Assert.True(variableBeatsUrl.ExitCode == 0, variableBeatsUrl.ToString());
        Assert.Equal(ExitCodes.Error, flagBeatsVariable.ExitCode);
    }

    [Fact]
    public void Send_AsTheRealBinary_WaitsForTheAck()
    {
        var withUrl = ChildProcess.RunDotnet(TestPaths.Cli, ["--url", _job.BaseUrl, "optimizer.lr.multiplier", "0.25", "--wait"], TimeSpan.FromSeconds(60), new Dictionary<string, string?> { ["RUNTIMECTL_TOKEN"] = _job.Token });

        Assert.True(withUrl.ExitCode == 0, withUrl.ToString());
        Assert.Equal("applied", TempQueueDirectory.Parse(withUrl.StdoutLines[1]).GetProperty("status").GetString());
    }

    [Fact]
    public void Send_NoTrainer_TimesOutAsLocally()
    {
        using var idle = RunningServe.WithoutTrainer();
        string[] args = ["optimizer.lr.multiplier", "0.5", "--wait", "--timeout", "0.4"];

        var local = InProcess.Run(["-q", idle.Dir, .. args], NoEnvironment);
        var remote = InProcess.Run(["--url", idle.Url, .. args], NoEnvironment);

        Assert.Equal(ExitCodes.Timeout, local.ExitCode);
        Assert.True(remote.ExitCode == ExitCodes.Timeout, remote.ToString());
        Assert.Single(remote.StdoutLines);
        Assert.Equal(local.Stderr, remote.Stderr);
        Assert.Contains("no ack within 0.4 s", remote.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(idle.Dir, "commands.jsonl")).Length);
    }

    [Fact]
    public void Send_WaitInterrupted_ExitsAsLocallyAndTheCommandStaysQueued()
    {
        using var idle = RunningServe.WithoutTrainer();
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        var remote = InProcess.Run(["--url", idle.Url, "optimizer.lr.multiplier", "0.5", "--wait", "--timeout", "60"], NoEnvironment, cancellationToken: interrupt.Token);

        Assert.Equal(ExitCodes.Interrupted, remote.ExitCode);
        Assert.Contains("interrupted before the ack came; the command stays queued", remote.Stderr, StringComparison.Ordinal);
        Assert.Single(File.ReadAllLines(Path.Combine(idle.Dir, "commands.jsonl")));
    }

    private static string Field(JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetRawText() : "(absent)";

    private static string[] WithoutTrainerLine(string[] lines) => lines.Where(l => !l.StartsWith("Trainer ", StringComparison.Ordinal)).Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\d\d:\d\d:\d\d", "TIME")).ToArray();
}

/// <summary>What <c>--url</c> refuses before it sends anything, with no server needed.</summary>
public sealed class RemoteGrammarTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Theory]
    [InlineData("http://10.20.30.40:8765/?token=t", "another machine")]
    [InlineData("http://example.org/?token=t", "another machine")]
    [InlineData("ftp://127.0.0.1/?token=t", "--url must be")]
    [InlineData("127.0.0.1:8765", "--url must be")]
    [InlineData("http://127.0.0.1:8765/", "needs its access token")]
    public void Url_Refused_IsAUsageError(string url, string message)
    {
        var result = InProcess.Run(["--url", url, "status"], NoEnvironment);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("token=t", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--url", "http://127.0.0.1:1/?token=t", "-q", "/tmp/x", "status" }, "not both")]
    [InlineData(new[] { "--token", "t", "-q", "/tmp/x", "status" }, "--token applies only with --url")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1/?token=t", "serve" }, "--url does not apply to serve")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1/?token=t", "status", "--follow" }, "--follow does not apply to --url")]
    [InlineData(new[] { "--allow-remote", "-q", "/tmp/x", "status" }, "--allow-remote applies only with serve --host ADDRESS or with --url URL")]
    public void Options_NotForUrl_AreUsageErrors(string[] args, string message)
    {
        var result = InProcess.Run(args, NoEnvironment);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_NoServerListening_IsAnError()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = InProcess.Run(["--url", $"http://127.0.0.1:{port}/?token=t", "status"], NoEnvironment);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains($"cannot reach the dashboard at http://127.0.0.1:{port}", result.Stderr, StringComparison.Ordinal);
    }
}
