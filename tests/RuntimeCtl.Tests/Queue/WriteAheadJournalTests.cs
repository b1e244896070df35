using System.Text;
using RuntimeCtl.Tests.Support;

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

    /// <summary>On tmpfs where the machine has one, so the journal is mapped whatever file system the temp folder is on.</summary>
    private readonly TempQueueDirectory _mapped = new(Directory.Exists("/dev/shm") ? "/dev/shm" : null);

    public void Dispose()
    {
        _q.Dispose();
        _killed.Dispose();
        _mapped.Dispose();
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StageBeginStageOutcomeTryCommit_SteadyState_AllocateNothing(bool mapped)
    {
        using var queue = Queue(_mapped);
        if (!mapped)
        {
            Sparse(queue.Journal, 64 * 1024); // a hole: the journal writes with pwrite
        }

        using var journal = Open(queue);
        Assert.Equal(mapped, journal.IsMapped);
        journal.Recover();
        var lines = Enumerable.Range(0, 64).Select(i => Line($"cmd-{i:D4}-\u00e9")).ToArray(); // a non-ASCII id too
        var ack = Encoding.UTF8.GetBytes("""{"id":"cmd","ts":"2025-11-29T00:00:00.000+00:00","path":"save_ckpt","op":"set","status":"applied"}""");

        Cycle(2000); // warm: the staging buffer at its size, everything jitted, several batches
        var before = GC.GetAllocatedBytesForCurrentThread();
        Cycle(10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);

        void Cycle(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var line = lines[i % lines.Length];
                if (!journal.StageBegin(line, safeToRepeat: false, step: i))
                {
                    journal.StartBatch(); // the journal is full: the engine starts the next batch
                    Assert.True(journal.StageBegin(line, safeToRepeat: false, step: i));
                }

                Assert.True(journal.TryCommit(out _));
                journal.StageOutcome(line.Id, ack);
            }
        }
    }

    [Fact]
    public void TryCommit_Mapped_RecordsAreInTheFileAtOnceAsAKillLeavesThem()
    {
        using var queue = Queue(_mapped);
        using var journal = Open(queue);
        Assert.True(journal.IsMapped, journal.NotMappedReason);
        journal.StartBatch();
        Assert.True(journal.StageBegin(Line("a"), safeToRepeat: false, step: 7));
        Assert.True(journal.TryCommit(out _));
        Assert.True(journal.StageOutcome("a", """{"id":"a","status":"applied"}"""u8));
        Assert.True(journal.StageBegin(Line("b"), safeToRepeat: true, step: 7));
        Assert.True(journal.TryCommit(out _));

        // Read through another descriptor while the mapping is still there, nothing closed or synced: the copied bytes
        // are in the page cache, which is what a SIGKILL leaves of them.
        using var restarted = Open(queue);
        var entries = restarted.Recover();

        Assert.Equal(["a", "b"], entries.Select(e => e.Id));
        Assert.Equal("""{"id":"a","status":"applied"}""", Encoding.UTF8.GetString(entries[0].Outcome!));
        Assert.Null(entries[1].Outcome);
        Assert.True(entries[1].SafeToRepeat);
        Assert.Equal(7, entries[1].Step);
        Assert.Equal("\"save_ckpt\"", Encoding.UTF8.GetString(entries[1].Path));
        Assert.Equal("\"set\"", Encoding.UTF8.GetString(entries[1].Op));
    }

    [RootFact("strace")]
    public void QuickStart_KilledInsideAControl_RestartFindsTheRecordsCopiedIntoTheMapping()
    {
        var dir = _mapped.Dir;
        var record = Path.Combine(_mapped.Root, "applied.txt");
        Assert.Equal(0, QuickStartProcess.Run(QuickStartProcess.Once(dir, null)).ExitCode); // reserves the journal
        var ids = Enumerable.Range(0, 5).Select(i => Id(CommandSender.Enqueue(dir, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = $"ck{i}" }).Line)).ToList();

        // A real SIGKILL inside the third control (at its pwrite of the record line): ck0 and ck1 ran, ck2 was running,
        // and the batch's acks were not written yet. Only the record and the journal are traced.
        var traceFile = Path.Combine(_mapped.Root, "trace.txt");
        var killed = QuickStartProcess.Run(QuickStartProcess.Strace(QuickStartProcess.Once(dir, record), traceFile, "mmap,pwrite64", ["-y", "-e", "inject=pwrite64:signal=KILL:when=3", "-P", record, "-P", Path.Combine(dir, "journal.bin")]));

        var trace = File.ReadAllLines(traceFile);
        Assert.NotEqual(0, killed.ExitCode);
        Assert.Contains(trace, l => l.Contains("mmap(", StringComparison.Ordinal) && l.Contains("journal.bin", StringComparison.Ordinal));
        Assert.DoesNotContain(trace, l => l.Contains("pwrite64(", StringComparison.Ordinal) && l.Contains("journal.bin", StringComparison.Ordinal));
        Assert.Equal(["ck0", "ck1"], File.ReadAllLines(record));
        Assert.Empty(_mapped.ReadAcks());
        using (var queue = Queue(dir))
        using (var journal = Open(queue, QueueEngine<TrainState>.JournalCapacity(new RuntimeControllerOptions().MaxLineBytes)))
        {
            var entries = journal.Recover();
            Assert.Equal(ids[..3], entries.Select(e => e.Id));
            Assert.Contains("\"label\":\"ck0\"", Encoding.UTF8.GetString(entries[0].Outcome!), StringComparison.Ordinal);
            Assert.Contains("\"label\":\"ck1\"", Encoding.UTF8.GetString(entries[1].Outcome!), StringComparison.Ordinal);
            Assert.Null(entries[2].Outcome);
        }

        Assert.Equal(0, QuickStartProcess.Run(QuickStartProcess.Once(dir, record)).ExitCode);

        var acks = _mapped.ReadAcks();
        Assert.Equal(ids, acks.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(["applied", "applied", "failed", "applied", "applied"], acks.Select(a => a.GetProperty("status").GetString()));
        Assert.Contains("its effect is unknown", acks[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(["ck0", "ck1", "ck3", "ck4"], File.ReadAllLines(record)); // none twice
    }

    [RootFact("strace")]
    public void QuickStart_JournalMmapFails_WritesWithPwriteAndAppliesEachCommandOnce()
    {
        var dir = _mapped.Dir;
        var record = Path.Combine(_mapped.Root, "applied.txt");
        Assert.Equal(0, QuickStartProcess.Run(QuickStartProcess.Once(dir, null)).ExitCode);
        var ids = Enumerable.Range(0, 3).Select(i => Id(CommandSender.Enqueue(dir, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = $"ck{i}" }).Line)).ToList();

        var traceFile = Path.Combine(_mapped.Root, "trace.txt");
        var run = QuickStartProcess.Run(QuickStartProcess.Strace(QuickStartProcess.Once(dir, record), traceFile, "mmap,pwrite64", ["-y", "-e", "inject=mmap:error=ENODEV", "-P", Path.Combine(dir, "journal.bin")]));

        var trace = File.ReadAllLines(traceFile);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(trace, l => l.Contains("mmap(", StringComparison.Ordinal) && l.Contains("(INJECTED)", StringComparison.Ordinal));
        Assert.Equal(4, trace.Count(l => l.Contains("pwrite64(", StringComparison.Ordinal))); // the three begins (each with the outcome before), the last outcome
        Assert.Equal(["ck0", "ck1", "ck2"], File.ReadAllLines(record));
        var acks = _mapped.ReadAcks();
        Assert.Equal(ids, acks.Select(a => a.GetProperty("id").GetString()));
        Assert.All(acks, a => Assert.Equal("applied", a.GetProperty("status").GetString()));
    }

    [Fact]
    public void TryOpen_JournalWithAHole_WritesWithPwriteAndRecoversTheSame()
    {
        using var queue = Queue(_mapped);
        Sparse(queue.Journal, 64 * 1024);
        using var journal = Open(queue);
        journal.Recover();
        journal.StartBatch();
        Assert.True(journal.StageBegin(Line("a"), safeToRepeat: false, step: null));
        Assert.True(journal.TryCommit(out _));

        Assert.False(journal.IsMapped);
        Assert.Contains("a hole at offset 0", journal.NotMappedReason, StringComparison.Ordinal);
        using var restarted = Open(queue);
        Assert.Equal(["a"], restarted.Recover().Select(e => e.Id));
    }

    [Fact]
    public void TryCommit_JournalCutShortBetweenBatches_WritesWithPwriteInsteadOfRaisingSigbus()
    {
        // MADV_POPULATE_WRITE (Linux 5.14) turns the store's SIGBUS into an error; without it this would kill the test host.
        if (Environment.OSVersion.Version < new Version(5, 14))
        {
            return;
        }

        using var queue = Queue(_mapped);
        using var journal = Open(queue);
        journal.Recover();
        Assert.True(journal.IsMapped, journal.NotMappedReason);
        journal.StartBatch();
        Assert.True(journal.StageBegin(Line("a"), safeToRepeat: false, step: 1));
        Assert.True(journal.TryCommit(out _));

        using (var cut = new FileStream(queue.Journal, FileMode.Open, FileAccess.Write))
        {
            cut.SetLength(0); // another process truncates the file under the mapping
        }

        journal.StartBatch();
        Assert.True(journal.StageBegin(Line("b"), safeToRepeat: false, step: 2));
        Assert.True(journal.TryCommit(out var error), error?.Message);

        Assert.False(journal.IsMapped);
        Assert.Contains("could not be faulted in", journal.NotMappedReason, StringComparison.Ordinal);
        using var restarted = Open(queue);
        Assert.Equal(["b"], restarted.Recover().Select(e => e.Id));
    }

    [Fact]
    public void TryCommit_JournalRemovedWhileOpen_GoesOnWritingTheFileItOpened()
    {
        // As with pwrite: the mapping is of the file that was opened; a trainer started later makes a new journal.
        using var queue = Queue(_mapped);
        using var journal = Open(queue);
        journal.Recover();
        journal.StartBatch();
        Assert.True(journal.StageBegin(Line("a"), safeToRepeat: false, step: 1));
        Assert.True(journal.TryCommit(out _));

        File.Delete(queue.Journal);
        Assert.True(journal.StageBegin(Line("b"), safeToRepeat: false, step: 1));
        Assert.True(journal.TryCommit(out _));

        Assert.True(journal.IsMapped);
        using var next = Open(queue);
        Assert.Empty(next.Recover());
    }

    [Theory]
    [InlineData("", 0UL, 0xEF46DB3751D8E999UL)]
    [InlineData("a", 0UL, 0xD24EC4F1A98C6E5BUL)]
    [InlineData("abc", 0UL, 0x44BC2CF5AD770999UL)]
    [InlineData("Nobody inspects the spammish repetition", 0UL, 0xFBCEA83C8A378BF1UL)]
    public void XxHash64_Text_IsTheReferenceHash(string text, ulong seed, ulong expected) =>
        Assert.Equal(expected, WriteAheadJournal.XxHash64(Encoding.UTF8.GetBytes(text), seed));

    [Theory]
    [InlineData(37, 1UL, 0x31FE76EB4FF1CF74UL)] // every tail step: a 32-byte stripe, 4 bytes, single bytes
    [InlineData(100, 0x0123456789ABCDEFUL, 0x40E8F4EC2207F62CUL)] // 8-byte steps after the stripes
    [InlineData(256, 0UL, 0x1FACBE8406CD904BUL)]
    public void XxHash64_BytesZeroUpward_IsTheReferenceHash(int length, ulong seed, ulong expected) =>
        Assert.Equal(expected, WriteAheadJournal.XxHash64(Enumerable.Range(0, length).Select(i => (byte)i).ToArray(), seed)); // values from libxxhash 0.8

    [Fact]
    public void Recover_RecordsOfATrainerBeforeIssue17_AreStillRead()
    {
        // The FNV-1a records (types 1 and 2) that trainers wrote before the XXH64 ones: a batch of two begins, one finished.
        using var queue = Queue(_q);
        var file = new byte[64 * 1024];
        var at = FnvRecord(file, 0, 41, 1, [0, 1, .. BitConverter.GetBytes(5L), .. Field("a"), .. Field("\"save_ckpt\""), .. Field("\"set\"")]);
        at = FnvRecord(file, at, 41, 2, [.. Field("a"), .. """{"id":"a","status":"applied"}"""u8.ToArray()]);
        FnvRecord(file, at, 41, 1, [1, 0, .. new byte[8], .. Field("b"), .. Field("null"), .. Field("\"set\"")]);
        File.WriteAllBytes(queue.Journal, file);
        File.SetUnixFileMode(queue.Journal, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        using var journal = Open(queue);
        var entries = journal.Recover();

        Assert.Equal(["a", "b"], entries.Select(e => e.Id));
        Assert.Equal("""{"id":"a","status":"applied"}""", Encoding.UTF8.GetString(entries[0].Outcome!));
        Assert.Equal(5, entries[0].Step);
        Assert.Null(entries[1].Outcome);
        Assert.True(entries[1].SafeToRepeat);
        Assert.Null(entries[1].Step);
        Assert.Equal("null", Encoding.UTF8.GetString(entries[1].Path));

        static byte[] Field(string value) => [.. BitConverter.GetBytes(Encoding.UTF8.GetByteCount(value)), .. Encoding.UTF8.GetBytes(value)];

        static int FnvRecord(byte[] into, int at, long batch, byte type, byte[] payload)
        {
            var hash = 14695981039346656037UL;
            foreach (var b in (byte[])[.. BitConverter.GetBytes(batch), type, .. payload])
            {
                hash = (hash ^ b) * 1099511628211UL;
            }

            byte[] record = [.. BitConverter.GetBytes(payload.Length), .. BitConverter.GetBytes(hash | 1), .. BitConverter.GetBytes(batch), type, .. payload];
            record.CopyTo(into, at);
            return at + record.Length;
        }
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

    private static QueueDirectory Queue(TempQueueDirectory dir) => Queue(dir.Dir);

    /// <summary>The id of a command line as <see cref="SentCommand.Line"/> holds it.</summary>
    private static string Id(string command)
    {
        using var document = System.Text.Json.JsonDocument.Parse(command);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    private static QueueDirectory Queue(string dir)
    {
        var queue = new QueueDirectory(dir);
        queue.EnsureCreated(allowShared: false);
        return queue;
    }

    private static WriteAheadJournal Open(QueueDirectory queue, long capacity = 64 * 1024)
    {
        var journal = new WriteAheadJournal(queue, capacity, sync: false);
        Assert.True(journal.TryOpen(out var error), error?.Message);
        return journal;
    }

    /// <summary>A journal file of <paramref name="length"/> bytes none of which was written: all hole.</summary>
    private static void Sparse(string path, long length)
    {
        using var file = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
        file.SetLength(length);
    }

    private static CommandLine Line(string id) => CommandLine.Parse(0, Encoding.UTF8.GetBytes("{\"id\":\"" + id + "\",\"path\":\"save_ckpt\"}"));

    private static void Snapshot(string from, string to)
    {
        Directory.CreateDirectory(to, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
