using System.Text.Json;

namespace RuntimeCtl.Tests.Queue;

public sealed class CommandSenderTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Enqueue_WritesOneLineInTheOriginalsShape()
    {
        var line = CommandSender.Enqueue(_q.Dir, "optimizer.lr.multiplier", [0.5], new Dictionary<string, object?> { ["label"] = "x" });

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
        var plain = CommandSender.Enqueue(_q.Dir, "save_ckpt");
        var held = CommandSender.Enqueue(_q.Dir, "save_ckpt", atStep: 42);

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
    public void Enqueue_NonFiniteNumber_ThrowsAndWritesNothing()
    {
        Assert.Throws<ArgumentException>(() => CommandSender.Enqueue(_q.Dir, "x", [double.NaN]));
        Assert.True(!File.Exists(_q.Commands) || new FileInfo(_q.Commands).Length == 0);
    }
}
