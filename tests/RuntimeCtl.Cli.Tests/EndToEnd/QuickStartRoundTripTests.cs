using System.Text.Json;

namespace RuntimeCtl.Cli.Tests.EndToEnd;

/// <summary>The real <c>runtimectl</c> and the real QuickStart, as child processes, through one queue directory.</summary>
public sealed class QuickStartRoundTripTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    private ProcessResult Runtimectl(params string[] args) => ChildProcess.RunDotnet(TestPaths.Cli, ["-q", _q.Dir, .. args], Timeout);

    private ProcessResult QuickStartOnce() => ChildProcess.RunDotnet(TestPaths.QuickStart, ["--queue", _q.Dir, "--once"], Timeout);

    [Fact]
    public void Runtimectl_CommandsThenQuickStartOnce_AreAppliedInOrder()
    {
        Assert.Equal(0, Runtimectl("optimizer.lr.multiplier", "0.5").ExitCode);
        Assert.Equal(0, Runtimectl("model.dropout.p", "0.2").ExitCode);
        Assert.Equal(0, Runtimectl("save_ckpt", "--kwargs", """{"label":"manual"}""").ExitCode);
        Assert.Equal(0, Runtimectl("save_ckpt").ExitCode);

        var trainer = QuickStartOnce();

        Assert.True(trainer.ExitCode == 0, trainer.ToString());
        var state = TempQueueDirectory.Parse(trainer.StdoutLines[^1]);
        Assert.Equal(5e-4, state.GetProperty("lr").GetDouble(), 12);
        Assert.Equal(0.2, state.GetProperty("dropout").GetDouble());
        Assert.Equal(["manual", "auto"], state.GetProperty("ckpts").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public void Runtimectl_StatusAfterQuickStart_ShowsTheAcksAsWritten()
    {
        var sent = new[]
        {
            Runtimectl("optimizer.lr.multiplier", "\"0.5\""),
            Runtimectl("optimizer.lr.multiplier", "-1"),
            Runtimectl("model.dropout.p", "0.2", "0.3"),
        };
        Assert.All(sent, r => Assert.Equal(0, r.ExitCode));
        var trainer = QuickStartOnce();
        Assert.True(trainer.ExitCode == 0, trainer.ToString());

        var status = Runtimectl("status", "--last", "3");

        Assert.True(status.ExitCode == 0, status.ToString());
        var json = status.Json;
        Assert.Equal(["queue_dir", "commands", "acks", "last_acks"], TempQueueDirectory.Keys(json).Take(4));
        Assert.Equal(3, json.GetProperty("commands").GetInt64());
        Assert.Equal(3, json.GetProperty("acks").GetInt64());
        var acks = json.GetProperty("last_acks").EnumerateArray().ToArray();
        Assert.Equal(sent.Select(s => s.Json.GetProperty("id").GetString()), acks.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(["applied", "failed", "failed"], acks.Select(a => a.GetProperty("status").GetString()));
        Assert.Equal(JsonValueKind.Number, acks[0].GetProperty("args")[0].ValueKind);
        Assert.Equal("multiplier must be > 0", acks[1].GetProperty("error").GetString());
        Assert.Contains("expects exactly 1 positional arg, got 2", acks[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(File.ReadAllLines(_q.Acks), acks.Select(a => a.GetRawText()));
    }

    [Fact]
    public void Runtimectl_KwargsNotAnObject_ExitsTwoAndQuickStartSeesNothing()
    {
        var refused = Runtimectl("save_ckpt", "--kwargs", "[1]");

        Assert.Equal(2, refused.ExitCode);
        Assert.Equal(string.Empty, refused.Stdout);
        Assert.False(File.Exists(_q.Commands));
    }

    [Fact]
    public void Runtimectl_Help_ExitsZero()
    {
        var help = ChildProcess.RunDotnet(TestPaths.Cli, ["--help"], Timeout);

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("runtimectl -q DIR controls", help.Stdout, StringComparison.Ordinal);
    }
}
