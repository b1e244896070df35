using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

/// <summary>
/// <c>--wait</c> in-process. The CLI only reads <c>acks.jsonl</c>, so a task stands in for the trainer: it waits for
/// the command line to appear, then appends the ack a trainer would write.
/// </summary>
public sealed class AckWaiterTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    /// <summary>Acks the first command after <paramref name="skip"/> with <paramref name="ackFields"/> once it is queued.</summary>
    private Task AckWhenQueued(string ackFields, int skip = 0, string? before = null) => Task.Run(async () =>
    {
        var id = await QueuedId(skip);
        _q.AppendAck((before ?? string.Empty) + $$"""{"id":"{{id}}","ts":1.5,"path":"p","op":"set",{{ackFields}}}""" + "\n");
    });

    /// <summary>Waits for the command after <paramref name="skip"/> to be queued; its id.</summary>
    private async Task<string?> QueuedId(int skip = 0)
    {
        await Eventually.UntilAsync(() => _q.CommandLines().Length > skip, "command the CLI queues", Deadline);
        return _q.CommandObjects()[skip].GetProperty("id").GetString();
    }

    [Theory]
    [InlineData("\"status\":\"applied\",\"args\":[0.5],\"kwargs\":{}", 0)]
    [InlineData("\"status\":\"rejected\",\"error\":\"unknown path: p\"", 3)]
    [InlineData("\"status\":\"failed\",\"error\":\"multiplier must be > 0\"", 4)]
    public async Task Run_Wait_PrintsTheAckAndExitsByItsStatus(string ackFields, int exitCode)
    {
        var trainer = AckWhenQueued(ackFields);

        var result = InProcess.Run("-q", _q.Dir, "p", "0.5", "--wait", "--timeout", "20");

        await trainer;
        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(2, result.StdoutLines.Length);
        var command = TempQueueDirectory.Parse(result.StdoutLines[0]);
        var ack = TempQueueDirectory.Parse(result.StdoutLines[1]);
        Assert.Equal(command.GetProperty("id").GetString(), ack.GetProperty("id").GetString());
        Assert.Equal(File.ReadAllLines(_q.Acks)[^1], result.StdoutLines[1]);
    }

    [Fact]
    public void Run_WaitWithNoAck_TimesOutWithExitFive()
    {
        var result = InProcess.Run("-q", _q.Dir, "p", "0.5", "--wait", "--timeout", "0.3");

        Assert.Equal(5, result.ExitCode);
        Assert.Single(result.StdoutLines);
        Assert.Contains("no ack within", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("stays queued", result.Stderr, StringComparison.Ordinal);
        Assert.Single(_q.CommandLines());
    }

    [Fact]
    public void Run_WaitTimeoutZero_LooksOnceAndTimesOut()
    {
        var result = InProcess.Run("-q", _q.Dir, "p", "--wait", "--timeout", "0");

        Assert.Equal(5, result.ExitCode);
    }

    [Fact]
    public void Run_WaitWithTrainerNotPolling_SaysSoOnTimeout()
    {
        _q.WriteController(ageSeconds: 600);

        var result = InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplier", "0.5", "--wait", "--timeout", "0.2");

        Assert.Equal(5, result.ExitCode);
        Assert.Contains("not polling", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Wait_IgnoresOlderAcksOtherIdsAndCorruptLines()
    {
        _q.AppendAck("""{"id":"old","ts":1.0,"path":"p","op":"set","status":"failed","error":"old"}""" + "\n");
        var trainer = AckWhenQueued("\"status\":\"applied\",\"args\":[],\"kwargs\":{}", before: "{garbage\n" + """{"id":"other","ts":1.0,"status":"failed","error":"x"}""" + "\n");

        var result = InProcess.Run("-q", _q.Dir, "p", "--wait", "--timeout", "20");

        await trainer;
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("\"applied\"", result.StdoutLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Wait_AckWrittenInTwoParts_IsLookedAtBetweenThemAndReadWhenComplete()
    {
        // Arrange: a trainer that writes its ack in two parts, the second only once the waiter has read the first (the
        // kernel reports the read), so the waiter meets the torn ack for sure; one that did not look between the parts
        // leaves the trainer waiting in vain.
        var lookedBetween = false;
        var trainer = Task.Run(async () =>
        {
            var id = await QueuedId();
            using var reads = new FileReadWatch(_q.Dir, "acks.jsonl");
            _q.AppendAck($$"""{"id":"{{id}}","ts":1.5,"path":"p",""");
            lookedBetween = reads.WaitForRead(Deadline);
            _q.AppendAck("\"op\":\"set\",\"status\":\"rejected\",\"error\":\"unknown path: p\"}\n");
        });

        // Act
        var result = InProcess.Run("-q", _q.Dir, "p", "--wait", "--timeout", "60");

        // Assert: it looked at the first part, did not take it for an ack, and reported the whole one.
        await trainer;
        Assert.True(lookedBetween, "the waiter did not read acks.jsonl between the two parts of the ack");
        Assert.Equal(3, result.ExitCode);
        Assert.EndsWith("\"error\":\"unknown path: p\"}", result.StdoutLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WaitWithRealTrainer_GetsItsAck()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir, state: state);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                rt.PollAndApply(state, TimeSpan.FromMilliseconds(20));
                Thread.Sleep(5);
            }
        });

        var result = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.25", "--wait", "--timeout", "20");

        stop.Cancel();
        await loop;
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(0.25, state.Dropout);
        Assert.Equal(["id", "ts", "path", "op", "status", "args", "kwargs"], TempQueueDirectory.Keys(TempQueueDirectory.Parse(result.StdoutLines[1])));
    }

    [Fact]
    public void Run_WaitCancelled_ExitsWithoutTheAck()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        var result = InProcess.Run(["-q", _q.Dir, "p", "--wait"], new Dictionary<string, string?>(), cancellationToken: cancel.Token);

        Assert.Equal(130, result.ExitCode);
        Assert.Single(result.StdoutLines);
        Assert.Contains("interrupted", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WaitWhenAcksFileIsReplaced_FindsTheAckInTheNewFile()
    {
        _q.AppendAck(new string('x', 5000) + "\n");
        var trainer = Task.Run(async () =>
        {
            var id = await QueuedId();
            File.WriteAllText(_q.Acks, $$$"""{"id":"{{{id}}}","ts":1.5,"path":"p","op":"set","status":"applied","args":[],"kwargs":{}}""" + "\n");
        });

        var result = InProcess.Run("-q", _q.Dir, "p", "--wait", "--timeout", "20");

        await trainer;
        Assert.Equal(0, result.ExitCode);
    }
}
