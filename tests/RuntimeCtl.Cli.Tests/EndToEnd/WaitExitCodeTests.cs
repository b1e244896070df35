namespace RuntimeCtl.Cli.Tests.EndToEnd;

/// <summary><c>runtimectl --wait</c> as a child process against a real, running QuickStart.</summary>
public sealed class WaitExitCodeTests : IClassFixture<RunningQuickStart>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly RunningQuickStart _trainer;

    public WaitExitCodeTests(RunningQuickStart trainer) => _trainer = trainer;

    private ProcessResult Runtimectl(params string[] args) => ChildProcess.RunDotnet(TestPaths.Cli, ["-q", _trainer.Dir, .. args], Timeout);

    private static void AssertAck(ProcessResult result, int exitCode, string status)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.Equal(2, result.StdoutLines.Count);
        var command = TempQueueDirectory.Parse(result.StdoutLines[0]);
        var ack = TempQueueDirectory.Parse(result.StdoutLines[1]);
        Assert.Equal(command.GetProperty("id").GetString(), ack.GetProperty("id").GetString());
        Assert.Equal(status, ack.GetProperty("status").GetString());
    }

    [Fact]
    public void Wait_AppliedCommand_ExitsZero()
    {
        AssertAck(Runtimectl("model.dropout.p", "0.3", "--wait", "--timeout", "30"), 0, "applied");
    }

    [Fact]
    public void Wait_UnknownPathWithForce_IsRejectedAndExitsThree()
    {
        AssertAck(Runtimectl("no.such.control", "1", "--force", "--wait", "--timeout", "30"), 3, "rejected");
    }

    [Fact]
    public void Wait_NegativeMultiplier_FailsAndExitsFour()
    {
        AssertAck(Runtimectl("--wait", "optimizer.lr.multiplier", "-1", "--timeout", "30"), 4, "failed");
    }

    [Fact]
    public void Send_UnknownPathWithoutForce_IsRefusedWithASuggestion()
    {
        var result = Runtimectl("model.dropout", "0.3");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("Did you mean 'model.dropout.p'?", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Controls_RunningTrainer_IsAliveWithItsControls()
    {
        var result = Runtimectl("controls");

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.Json.GetProperty("trainer").GetProperty("alive").GetBoolean());
        Assert.Equal(
            ["model.dropout.p", "optimizer.lr.multiplier", "save_ckpt"],
            result.Json.GetProperty("controls").EnumerateArray().Select(c => c.GetProperty("path").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Wait_NoTrainer_TimesOutAndExitsFive()
    {
        using var empty = new TempQueueDirectory();

        var result = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", empty.Dir, "model.dropout.p", "0.3", "--wait", "--timeout", "0.5"], Timeout);

        Assert.Equal(5, result.ExitCode);
        Assert.Single(result.StdoutLines);
        Assert.Contains("no ack within", result.Stderr, StringComparison.Ordinal);
    }
}
