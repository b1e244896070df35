using System.Text.Json;

namespace RuntimeCtl.Tests.Queue;

public sealed class CommandSenderTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Enqueue_WritesOneLineInTheOriginalsShape()
    {
        var line = CommandSender.Enqueue(_q.Dir, "optimizer.lr.multiplier", [0.5], new Dictionary<string, object?> { ["label"] = "x" }).Line;

        Assert.Equal(line + "\n", File.ReadAllText(_q.Commands));
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal(["id", "ts", "op", "path", "args", "kwargs"], TempQueueDirectory.Keys(root));
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", root.GetProperty("id").GetString());
        Assert.Equal("set", root.GetProperty("op").GetString());
        Assert.Equal(0.5, root.GetProperty("args")[0].GetDouble());
        Assert.Equal("x", root.GetProperty("kwargs").GetProperty("label").GetString());
    }

    [Fact]
    public void Enqueue_AtStep_WritesTheExtensionOnlyWhenGiven()
    {
        var plain = CommandSender.Enqueue(_q.Dir, "save_ckpt").Line;
        var held = CommandSender.Enqueue(_q.Dir, "save_ckpt", atStep: 42).Line;

        Assert.DoesNotContain("at_step", plain);
        Assert.Contains("\"at_step\":42", held);
    }

    [Fact]
    public void Enqueue_AfterTornLine_RepairsItSoTheTornLineIsRejectedAlone()
    {
        _q.AppendRaw("{\"id\":\"torn\",\"path\":\"model.dr");
        CommandSender.Enqueue(_q.Dir, "model.dropout.p", [0.3]);
        using var rt = Trainer.Create(_q.Dir);
        var state = new TrainState();

        var acks = rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal([AckStatus.Rejected, AckStatus.Applied], acks.Select(a => a.Status));
        Assert.Equal("invalid", acks[0].Op);
        Assert.Equal(0.3, state.Dropout);
    }

    [Fact]
    public void Enqueue_TornLineThatItsWriterCompletesWithinTheGrace_StaysWhole()
    {
        // A writer that does not take our lock writes its line in two parts, the second as soon as the sender has read
        // the torn tail (the kernel reports the read), so the sender is inside its grace when the line is completed.
        _q.AppendRaw("{\"id\":\"slow\",\"path\":\"model.dr");
        var sawTornTail = false;
        using var reads = new FileReadWatch(_q.Dir, "commands.jsonl");
        var writer = new Thread(() =>
        {
            sawTornTail = reads.WaitForRead(TimeSpan.FromSeconds(30));
            _q.AppendRaw("opout.p\",\"args\":[0.2]}\n");
        });
        writer.Start(); // its own thread, so a busy thread pool cannot hold it back past the grace
        CommandSender.Enqueue(_q.Dir, "model.dropout.p", [0.3]);
        writer.Join();

        Assert.True(sawTornTail, "the sender did not read commands.jsonl");

        var lines = File.ReadAllLines(_q.Commands);
        Assert.Equal(2, lines.Length);
        Assert.Equal("{\"id\":\"slow\",\"path\":\"model.dropout.p\",\"args\":[0.2]}", lines[0]);
        Assert.Contains("\"args\":[0.3]", lines[1]);
    }

    [Fact]
    public void Enqueue_ConcurrentSenders_WriteWholeLinesOnly()
    {
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => CommandSender.Enqueue(_q.Dir, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = new string('x', i) }));

        var lines = File.ReadAllLines(_q.Commands);
        Assert.Equal(400, lines.Length);
        Assert.All(lines, l => JsonDocument.Parse(l).Dispose());
    }

    [Fact]
    public void Enqueue_ReturnsTheIdAndWhereItsAckWillBe()
    {
        _q.AppendAck("""{"id":"older","ts":1.0,"path":"p","op":"set","status":"applied","args":[],"kwargs":{}}""" + "\n");
        var before = new FileInfo(_q.Acks).Length;

        var sent = CommandSender.Enqueue(_q.Dir, "model.dropout.p", [0.3]);
        using (var rt = Trainer.Create(_q.Dir))
        {
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        using var line = JsonDocument.Parse(sent.Line);
        Assert.Equal(line.RootElement.GetProperty("id").GetString(), sent.Id);
        Assert.Equal(sent.Line, Assert.Single(File.ReadAllLines(_q.Commands)));
        Assert.Equal(before, sent.AckOffset);
        Assert.Equal(2, sent.AlternateIds.Count);
        Assert.Equal("applied", new AckFollower(_q.Acks, sent.Id, sent.AckOffset, sent.AlternateIds).Poll()?.Status);
    }

    [Fact]
    public void Enqueue_NumberThatOverflows_IsRefusedAsTheTrainerWouldAndWritesNothing()
    {
        using var huge = JsonDocument.Parse("1e999");

        var refused = Assert.Throws<CommandRefusedException>(() => CommandSender.Enqueue(_q.Dir, "optimizer.lr.multiplier", [huge.RootElement]));

        Assert.Contains("Nothing was sent", refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [Fact]
    public void Enqueue_LineOverTheLimitOfTheTrainersControllerFile_IsRefused()
    {
        using (Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxLineBytes = 1024, OnDiagnostic = _ => { } }))
        {
        }

        var refused = Assert.Throws<CommandRefusedException>(() => CommandSender.Enqueue(_q.Dir, "save_ckpt", kwargs: [new("label", new string('x', 2000))]));

        Assert.Contains("over the trainer's limit of 1024 bytes", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(_q.Commands).Length);
    }

    [Fact]
    public void Enqueue_Options_WriteSourceReplayOfAndTheClocksTimeAfterTheCommandsFields()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

        var sent = CommandSender.Enqueue(_q.Dir, "save_ckpt", null, null, new EnqueueOptions { AtStep = 9, Source = "test", ReplayOf = "old-id", TimeProvider = time });

        using var line = JsonDocument.Parse(sent.Line);
        Assert.Equal(["id", "ts", "op", "path", "args", "kwargs", "at_step", "source", "replay_of"], TempQueueDirectory.Keys(line.RootElement));
        Assert.Equal("1700000000.0", line.RootElement.GetProperty("ts").GetRawText());
        Assert.Equal("old-id", line.RootElement.GetProperty("replay_of").GetString());
    }

    [Fact]
    public void Enqueue_DryRun_ChecksAndBuildsTheLineButWritesNothing()
    {
        var sent = CommandSender.Enqueue(_q.Dir, "model.dropout.p", [0.3], null, new EnqueueOptions { DryRun = true });
        using var huge = JsonDocument.Parse("1e999");

        Assert.Contains("\"args\":[0.3]", sent.Line, StringComparison.Ordinal);
        Assert.Empty(sent.AlternateIds);
        Assert.False(Directory.Exists(_q.Dir));
        Assert.Throws<CommandRefusedException>(() => CommandSender.Enqueue(_q.Dir, "p", [huge.RootElement], null, new EnqueueOptions { DryRun = true }));
    }

    [Fact]
    public void Enqueue_NonFiniteNumber_ThrowsAndWritesNothing()
    {
        Assert.Throws<ArgumentException>(() => CommandSender.Enqueue(_q.Dir, "x", [double.NaN]));
        Assert.True(!File.Exists(_q.Commands) || new FileInfo(_q.Commands).Length == 0);
    }
}
