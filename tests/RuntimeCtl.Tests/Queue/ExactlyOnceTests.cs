namespace RuntimeCtl.Tests.Queue;

/// <summary>Exactly once: nothing applied twice, nothing skipped, across restarts and file replacement.</summary>
public sealed class ExactlyOnceTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    private static string Cmd(string id, double mult = 2) => $$"""{"id":"{{id}}","path":"optimizer.lr.multiplier","args":[{{mult}}]}""";

    private int Poll(TrainState state)
    {
        using var rt = Trainer.Create(_q.Dir);
        return rt.PollAndApply(state, TimeSpan.Zero).Count;
    }

    [Fact]
    public void PollAndApply_RestartedTrainer_AppliesNothingTwice()
    {
        var state = new TrainState();
        _q.AppendLine(Cmd("a"));
        _q.AppendLine(Cmd("b"));
        Assert.Equal(2, Poll(state));

        _q.AppendLine(Cmd("c"));
        Assert.Equal(1, Poll(state));
        Assert.Equal(0, Poll(state));

        Assert.Equal(3, state.Applied);
        Assert.Equal(["a", "b", "c"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void Configure_RestartedTrainer_KeepsTheCommandLineCountFromTheCursor()
    {
        _q.AppendLine(Cmd("a"));
        _q.AppendLine("");
        _q.AppendLine(Cmd("b"));
        Poll(new TrainState());

        using var rt = Trainer.Create(_q.Dir);

        Assert.Equal(3, rt.CommandPosition);
        using var controller = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(_q.Dir, "controller.json")));
        Assert.Equal(3, controller.RootElement.GetProperty("commands_lines").GetInt64());
    }

    [Fact]
    public void PollAndApply_CursorLost_RecoversFromAcksWithoutReapplying()
    {
        var state = new TrainState();
        _q.AppendLine(Cmd("a"));
        _q.AppendLine("""{"path":"no.id.here"}""");
        _q.AppendLine("[]");
        Poll(state);
        File.Delete(Path.Combine(_q.Dir, "cursor.json"));
        _q.AppendLine(Cmd("d"));

        Poll(state);

        Assert.Equal(2, state.Applied);
        Assert.Equal(4, _q.ReadAcks().Count);
    }

    [Fact]
    public void PollAndApply_StaleCursor_SkipsAckedCommandsOnceAndAppliesTheRest()
    {
        // A trainer killed after writing acks but before saving its cursor leaves a stale cursor.
        var state = new TrainState();
        _q.AppendLine(Cmd("a"));
        Poll(state);
        var staleCursor = File.ReadAllBytes(Path.Combine(_q.Dir, "cursor.json"));
        _q.AppendLine(Cmd("b"));
        _q.AppendLine(Cmd("c"));
        Poll(state);
        File.WriteAllBytes(Path.Combine(_q.Dir, "cursor.json"), staleCursor);
        _q.AppendLine(Cmd("d"));

        Poll(state);

        Assert.Equal(4, state.Applied);
        Assert.Equal(["a", "b", "c", "d"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void PollAndApply_CorruptCursor_IsIgnoredAndRecovered()
    {
        var state = new TrainState();
        _q.AppendLine(Cmd("a"));
        Poll(state);
        File.WriteAllText(Path.Combine(_q.Dir, "cursor.json"), "{garbage");
        _q.AppendLine(Cmd("b"));

        Poll(state);

        Assert.Equal(2, state.Applied);
    }

    [Fact]
    public void PollAndApply_LaterBatches_OverwriteTheCursorInPlace()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        var cursor = Path.Combine(_q.Dir, "cursor.json");
        _q.AppendLine(Cmd("a"));
        rt.PollAndApply(state, TimeSpan.Zero);
        var inode = Inode(cursor);

        _q.AppendLine(Cmd("b"));
        rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(inode, Inode(cursor)); // a rename would give the path another inode
        Assert.Equal(QueueState.CursorBytes, new FileInfo(cursor).Length);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(cursor));
        Assert.Equal(new FileInfo(Path.Combine(_q.Dir, "commands.jsonl")).Length, json.RootElement.GetProperty("offset").GetInt64());

        static ulong Inode(string path) => UnixFileStatus.TryStat(path, out var status) ? status.Inode : throw new FileNotFoundException(path);
    }

    [Fact]
    public void PollAndApply_TornCursor_IsIgnoredAndRecoveredWithoutDuplicateAcks()
    {
        var state = new TrainState();
        _q.AppendLine(Cmd("a"));
        _q.AppendLine(Cmd("b"));
        Poll(state);
        var cursor = Path.Combine(_q.Dir, "cursor.json");

        // A torn write: valid JSON whose offset is another save's, under this save's check.
        var text = File.ReadAllText(cursor);
        var offset = System.Text.RegularExpressions.Regex.Match(text, "\"offset\":[0-9]+").Value;
        File.WriteAllText(cursor, text.Replace(offset, "\"offset\":0", StringComparison.Ordinal));
        _q.AppendLine(Cmd("c"));

        Poll(state);

        Assert.Equal(3, state.Applied);
        Assert.Equal(["a", "b", "c"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void PollAndApply_TruncatedCommandsFile_IsReadFromTheStartSkippingAckedIds()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine(Cmd("a"));
        _q.AppendLine(Cmd("b"));
        rt.PollAndApply(state, TimeSpan.Zero);

        File.WriteAllText(_q.Commands, string.Empty);
        _q.AppendLine(Cmd("c"));
        rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(3, state.Applied);
        Assert.Equal(["a", "b", "c"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void PollAndApply_FileReplacedAndGrownPastOldPosition_IsReadFromTheStart()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine(Cmd("a"));
        rt.PollAndApply(state, TimeSpan.Zero);

        // Replace in place with a longer file: an acked id and two new commands, past the old position.
        File.WriteAllText(_q.Commands, Cmd("a") + "\n" + Cmd("zzzzzzzzzzzzzzzzzzzzzzzz") + "\n" + Cmd("y") + "\n");
        rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(3, state.Applied);
        Assert.Equal(["a", "zzzzzzzzzzzzzzzzzzzzzzzz", "y"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void PollAndApply_FileRotatedByRename_FollowsThePath()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine(Cmd("a"));
        rt.PollAndApply(state, TimeSpan.Zero);

        File.Move(_q.Commands, _q.Commands + ".1");
        File.WriteAllText(_q.Commands, Cmd("b") + "\n");
        var restarted = Trainer.Create(_q.Dir);
        restarted.PollAndApply(state, TimeSpan.Zero);
        restarted.Dispose();

        Assert.Equal(2, state.Applied);
    }

    [Fact]
    public void PollAndApply_TrainerRestartedAfterRotation_SkipsOnlyAckedIds()
    {
        var state = new TrainState();
        _q.AppendLine(Cmd("a"));
        Poll(state);
        File.WriteAllText(_q.Commands, Cmd("b") + "\n" + Cmd("a") + "\n");

        Poll(state);

        Assert.Equal(2, state.Applied);
        Assert.Equal(["a", "b"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void PollAndApply_TornLastAckLine_IsTerminatedBeforeTheNextAck()
    {
        var state = new TrainState();
        Directory.CreateDirectory(_q.Dir);
        File.WriteAllText(_q.Acks, "{\"id\":\"torn\",\"ts\":1,\"pa");
        _q.AppendLine(Cmd("a"));

        Poll(state);

        var lines = File.ReadAllLines(_q.Acks);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"id\":\"a\"", lines[1]);
    }

    [Fact]
    public void PollAndApply_HeldAtStepCommandAcrossRestart_IsAppliedOnceAtItsStep()
    {
        var state = new TrainState();
        _q.AppendLine("""{"id":"held","path":"model.dropout.p","args":[0.5],"at_step":10}""");
        _q.AppendLine(Cmd("now"));
        using (var rt = Trainer.Create(_q.Dir))
        {
            rt.PollAndApplyAtStep(state, step: 1);
        }

        using (var rt = Trainer.Create(_q.Dir))
        {
            rt.PollAndApplyAtStep(state, step: 5);
            rt.PollAndApplyAtStep(state, step: 10);
        }

        Assert.Equal(2, state.Applied);
        Assert.Equal(["now", "held"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void PollAndApply_AckFileUnwritable_KeepsCommandPendingAndReportsOnce()
    {
        var state = new TrainState();
        var diagnostics = new List<RuntimeDiagnostic>();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { OnDiagnostic = diagnostics.Add });
        _q.AppendLine(Cmd("a"));
        rt.PollAndApply(state, TimeSpan.Zero);

        // Replace acks.jsonl by a directory: every write fails until it is a file again.
        File.Delete(_q.Acks);
        Directory.CreateDirectory(_q.Acks);
        _q.AppendLine(Cmd("b"));
        rt.PollAndApply(state, TimeSpan.Zero);
        _q.AppendLine(Cmd("c"));
        rt.PollAndApply(state, TimeSpan.Zero);
        rt.PollAndApply(state, TimeSpan.Zero);
        Directory.Delete(_q.Acks);
        rt.PollAndApply(state, TimeSpan.Zero);
        rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(3, state.Applied);
        Assert.Equal(["b", "c"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
        Assert.Single(diagnostics, d => d.Code == "ack-write-failed");
        Assert.Single(diagnostics, d => d.Code == "ack-write-recovered");
    }
}
