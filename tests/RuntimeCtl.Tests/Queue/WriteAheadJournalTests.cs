namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// A trainer killed at a chosen moment, without a real kill: a control copies the queue directory while it runs, and
/// the copy is exactly what a <c>kill -9</c> at that moment leaves behind (nothing after it reaches the files).
/// A new controller on the copy is the restarted trainer.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class WriteAheadJournalTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();
    private readonly TempQueueDirectory _killed = new();

    public void Dispose()
    {
        _q.Dispose();
        _killed.Dispose();
    }

    [Fact]
    public void PollAndApply_KilledInsideAControl_RestartAcksItFailedEffectUnknownAndAppliesNothingAgain()
    {
        _q.AppendLine("""{"id":"k1","path":"kill.here","args":[]}""");
        using (var rt = TrainerThatSnapshots(_q.Dir, safeToRepeat: false, out _))
        {
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        var applied = 0;
        using var restarted = TrainerThatSnapshots(_killed.Dir, safeToRepeat: false, out _, () => applied++);
        var acks = restarted.PollAndApply(new TrainState(), TimeSpan.Zero);

        Assert.Empty(acks); // nothing is applied again
        Assert.Equal(0, applied);
        var ack = Assert.Single(_killed.ReadAcks());
        Assert.Equal("k1", ack.GetProperty("id").GetString());
        Assert.Equal("failed", ack.GetProperty("status").GetString());
        Assert.Equal("kill.here", ack.GetProperty("path").GetString());
        Assert.Contains("stopped while applying this command; its effect is unknown", ack.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(["id", "ts", "path", "op", "status", "error"], TempQueueDirectory.Keys(ack));
    }

    [Fact]
    public void PollAndApply_KilledInsideAControlThatIsSafeToRepeat_RestartAppliesItAgainOnce()
    {
        _q.AppendLine("""{"id":"k1","path":"kill.here","args":[]}""");
        using (var rt = TrainerThatSnapshots(_q.Dir, safeToRepeat: true, out _))
        {
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        var applied = 0;
        using var restarted = TrainerThatSnapshots(_killed.Dir, safeToRepeat: true, out _, () => applied++);
        var ack = Assert.Single(restarted.PollAndApply(new TrainState(), TimeSpan.Zero));

        Assert.Equal(AckStatus.Applied, ack.Status);
        Assert.Equal(1, applied);
        Assert.Single(_killed.ReadAcks());
    }

    [Fact]
    public void PollAndApply_KilledAfterAnAppliedCommandBeforeItsAck_RestartWritesItsRealAckWithoutApplyingIt()
    {
        _q.AppendLine("""{"id":"lr","path":"optimizer.lr.multiplier","args":["0.5"]}""");
        _q.AppendLine("""{"id":"k1","path":"kill.here","args":[]}""");
        using (var rt = TrainerThatSnapshots(_q.Dir, safeToRepeat: false, out _))
        {
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        Assert.Empty(_killed.ReadAcks()); // at the kill, the batch's acks were not written yet
        var state = new TrainState();
        using var restarted = TrainerThatSnapshots(_killed.Dir, safeToRepeat: false, out var diagnostics);
        restarted.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(0, state.Applied);
        var acks = _killed.ReadAcks();
        Assert.Equal(["lr", "k1"], acks.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal("applied", acks[0].GetProperty("status").GetString());
        Assert.Equal(0.5, acks[0].GetProperty("args")[0].GetDouble()); // the real ack: the validated value
        Assert.Equal("failed", acks[1].GetProperty("status").GetString());
        Assert.Contains(diagnostics, d => d.Code == "journal-recovered" && d.Message.Contains("lr", StringComparison.Ordinal));
    }

    [Fact]
    public void PollAndApply_RestartedTwiceAfterAKill_AcksEachCommandOnce()
    {
        _q.AppendLine("""{"id":"lr","path":"optimizer.lr.multiplier","args":[0.5]}""");
        _q.AppendLine("""{"id":"k1","path":"kill.here","args":[]}""");
        _q.AppendLine("""{"id":"d","path":"model.dropout.p","args":[0.3]}""");
        using (var rt = TrainerThatSnapshots(_q.Dir, safeToRepeat: false, out _))
        {
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        var state = new TrainState();
        for (var run = 0; run < 2; run++)
        {
            using var restarted = TrainerThatSnapshots(_killed.Dir, safeToRepeat: false, out _);
            restarted.PollAndApply(state, TimeSpan.Zero);
        }

        Assert.Equal(1, state.Applied); // only "d", which the killed trainer never reached
        Assert.Equal(0.3, state.Dropout);
        Assert.Equal(["lr", "k1", "d"], _killed.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void Configure_RecoveredThenStoppedBeforeAnyPoll_NextTrainerDoesNotTakeTheRecoveredLinesForDuplicates()
    {
        _q.AppendLine("""{"id":"lr","path":"optimizer.lr.multiplier","args":[0.5]}""");
        _q.AppendLine("""{"id":"k1","path":"kill.here","args":[]}""");
        _q.AppendLine("""{"id":"d","path":"model.dropout.p","args":[0.3]}""");
        using (var rt = TrainerThatSnapshots(_q.Dir, safeToRepeat: false, out _))
        {
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        using (TrainerThatSnapshots(_killed.Dir, safeToRepeat: false, out _))
        {
            // Configure recovers the killed batch's acks; this trainer stops before reading the queue again.
        }

        var state = new TrainState();
        using var next = TrainerThatSnapshots(_killed.Dir, safeToRepeat: false, out _);
        next.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(["lr:applied", "k1:failed", "d:applied"], _killed.ReadAcks().Select(a => a.GetProperty("id").GetString() + ":" + a.GetProperty("status").GetString()));
        Assert.Equal(1, state.Applied);
    }

    [Fact]
    public void Recover_FirstRecordTornAndStaleRecordsBehindIt_NextBatchNeverReadsTheStaleOnes()
    {
        using var queue = new QueueDirectory(_q.Dir);
        queue.EnsureCreated(allowShared: false);
        using (var first = new WriteAheadJournal(queue, 64 * 1024, sync: false))
        {
            Assert.True(first.TryOpen(out _));
            first.Recover();
            first.StartBatch();
            foreach (var id in (string[])["a", "b", "c"])
            {
                Assert.True(first.StageBegin(Line(id), safeToRepeat: false, step: 1));
            }

            Assert.True(first.TryCommit(out _));
        }

        // A torn write of the first record (zeros), then a trainer whose next batch writes one record of the same size.
        using (var journal = new FileStream(queue.Journal, FileMode.Open, FileAccess.Write))
        {
            journal.Write(new byte[8]);
        }

        using (var second = new WriteAheadJournal(queue, 64 * 1024, sync: false))
        {
            Assert.True(second.TryOpen(out _));
            Assert.Empty(second.Recover());
            second.StartBatch();
            Assert.True(second.StageBegin(Line("x"), safeToRepeat: false, step: 2));
            Assert.True(second.TryCommit(out _));
        }

        using var third = new WriteAheadJournal(queue, 64 * 1024, sync: false);
        Assert.True(third.TryOpen(out _));
        Assert.Equal(["x"], third.Recover().Select(e => e.Id)); // not x, b, c: b and c belong to an older batch

        static CommandLine Line(string id) => CommandLine.Parse(0, System.Text.Encoding.UTF8.GetBytes("{\"id\":\"" + id + "\",\"path\":\"save_ckpt\"}"));
    }

    [Fact]
    public void Configure_JournalSpace_IsReservedOwnerOnly()
    {
        using var rt = Trainer.Create(_q.Dir);

        var journal = new FileInfo(Path.Combine(_q.Dir, "journal.bin"));
        Assert.Equal(QueueEngine<TrainState>.JournalCapacity(new RuntimeControllerOptions().MaxLineBytes), journal.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, journal.UnixFileMode);
    }

    [Fact]
    public void PollAndApply_BatchLargerThanTheJournal_IsAppliedWholeInOnePoll()
    {
        // With the smallest line limit the journal holds a few thousand records; 6,000 commands need several batches.
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxLineBytes = 1024, OnDiagnostic = _ => { } });
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < 6000; i++)
        {
            text.Append("{\"id\":\"c").Append(i).Append("\",\"path\":\"save_ckpt\",\"kwargs\":{\"label\":\"").Append('x', 200).Append("\"}}\n");
        }

        _q.AppendRaw(text.ToString());
        var state = new TrainState();
        var acks = rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(6000, acks.Count);
        Assert.Equal(6000, state.Applied);
        Assert.Equal(Enumerable.Range(0, 6000).Select(i => $"c{i}"), _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
    }

    /// <summary>The test trainer plus <c>kill.here</c>, which copies the queue directory to <see cref="_killed"/> the first time it runs.</summary>
    private RuntimeController<TrainState> TrainerThatSnapshots(string dir, bool safeToRepeat, out List<RuntimeDiagnostic> diagnostics, Action? onApply = null)
    {
        var seen = new List<RuntimeDiagnostic>();
        diagnostics = seen;
        var rt = Trainer.Create(options: new RuntimeControllerOptions { OnDiagnostic = seen.Add });
        rt.Register(
            "kill.here",
            _ =>
            {
                onApply?.Invoke();
                if (!Directory.Exists(_killed.Dir))
                {
                    Snapshot(dir, _killed.Dir);
                }
            },
            safeToRepeat: safeToRepeat);
        rt.Configure(dir);
        return rt;
    }

    private static void Snapshot(string from, string to)
    {
        Directory.CreateDirectory(to, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
