using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests.History;

public sealed class HistoryReplayCommandTests : IDisposable
{
    private readonly TempQueueDirectory _old = new();
    private readonly TempQueueDirectory _new = new();

    public void Dispose()
    {
        _old.Dispose();
        _new.Dispose();
    }

    [Fact]
    public void Replay_OfASteeredLoop_AppliesTheSameCommandsAtTheSameSteps()
    {
        var live = Run(_old.Dir, new Dictionary<long, string[]>
        {
            [3] = ["model.dropout.p", "0.3"],
            [7] = ["optimizer.lr.multiplier", "0.5"],
            [8] = ["nope", "1", "--force"],
        });

        var replay = InProcess.Run("-q", _new.Dir, "replay", "--from", _old.Dir);
        var replayed = Run(_new.Dir, []);

        Assert.Equal(0, replay.ExitCode);
        Assert.Equal(2, replay.StdoutLines.Length); // the rejected command is not replayed
        Assert.All(replay.StdoutLines, l => Assert.True(JsonDocument.Parse(l).RootElement.TryGetProperty("replay_of", out _)));
        Assert.Equal(["model.dropout.p@3", "optimizer.lr.multiplier@7"], replayed);
        Assert.Equal(live.Where(l => !l.StartsWith("nope", StringComparison.Ordinal)), replayed);
    }

    [Fact]
    public void History_Piped_IsOneJsonObjectPerCommandWithTheIssuesFields()
    {
        Run(_old.Dir, new Dictionary<long, string[]> { [2] = ["model.dropout.p", "0.3"] });
        InProcess.Run("-q", _old.Dir, "--force", "save_ckpt");

        var result = InProcess.Run("-q", _old.Dir, "history");

        Assert.Equal(0, result.ExitCode);
        var lines = result.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(2, lines.Length);
        foreach (var key in (string[])["line", "id", "ts", "path", "args", "kwargs", "status", "step"])
        {
            Assert.True(lines[0].TryGetProperty(key, out _), key);
        }

        Assert.Equal("applied", lines[0].GetProperty("status").GetString());
        Assert.Equal(2, lines[0].GetProperty("step").GetInt64());
        Assert.Equal("pending", lines[1].GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, lines[1].GetProperty("step").ValueKind);
        Assert.Single(InProcess.Run("-q", _old.Dir, "history", "--status", "pending").StdoutLines);
    }

    [Fact]
    public void History_OnATerminal_IsATable()
    {
        Run(_old.Dir, new Dictionary<long, string[]> { [2] = ["model.dropout.p", "0.3"] });

        var result = InProcess.Terminal("-q", _old.Dir, "history");

        Assert.StartsWith("LINE", result.StdoutLines[0], StringComparison.Ordinal);
        Assert.Contains("applied", result.StdoutLines[1], StringComparison.Ordinal);
        Assert.Contains("model.dropout.p", result.StdoutLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_DryRun_PrintsThePlanAndWritesNothing()
    {
        Run(_old.Dir, new Dictionary<long, string[]> { [2] = ["model.dropout.p", "0.3"] });

        var result = InProcess.Run("-q", _new.Dir, "replay", "--from", _old.Dir, "--dry-run");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, JsonDocument.Parse(Assert.Single(result.StdoutLines)).RootElement.GetProperty("at_step").GetInt64());
        Assert.False(File.Exists(_new.Commands));
    }

    [Fact]
    public void Replay_AppliedCommandWithoutAStep_IsRefusedNamingIt()
    {
        InProcess.Run("-q", _old.Dir, "model.dropout.p", "0.3");
        Trainer.Drain(_old.Dir); // polls by time: the ack has no step

        var result = InProcess.Run("-q", _new.Dir, "replay", "--from", _old.Dir);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("no step", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("model.dropout.p", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_new.Commands));
    }

    [Fact]
    public void Replay_IntoAQueueWithCommands_IsRefusedUnlessAppend()
    {
        Run(_old.Dir, new Dictionary<long, string[]> { [2] = ["model.dropout.p", "0.3"] });
        InProcess.Run("-q", _new.Dir, "--force", "save_ckpt");

        var refused = InProcess.Run("-q", _new.Dir, "replay", "--from", _old.Dir);
        var appended = InProcess.Run("-q", _new.Dir, "replay", "--from", _old.Dir, "--append");

        Assert.Equal(ExitCodes.Usage, refused.ExitCode);
        Assert.Contains("--append", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, appended.ExitCode);
        Assert.Equal(2, File.ReadAllLines(_new.Commands).Length);
    }

    [Fact]
    public void Send_ReportWordAfterDoubleDash_IsAPath()
    {
        var result = InProcess.Run("-q", _old.Dir, "--force", "--", "history");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("history", result.Json.GetProperty("path").GetString());
    }

    /// <summary>Runs a step-polled loop of 10 steps, sending the given commands with the CLI before those steps; returns "path@step" of each applied ack.</summary>
    private static List<string> Run(string dir, Dictionary<long, string[]> sendBefore)
    {
        var state = new TrainState();
        using var rt = Trainer.Create(dir, state);
        var applied = new List<string>();
        for (long step = 0; step < 10; step++)
        {
            if (sendBefore.TryGetValue(step, out var words))
            {
                Assert.Equal(0, InProcess.Run(["-q", dir, .. words]).ExitCode);
            }

            applied.AddRange(rt.PollAndApplyAtStep(state, step, 1).Where(a => a.Status == AckStatus.Applied).Select(a => $"{a.Path}@{a.Step}"));
        }

        return applied;
    }
}
