namespace RuntimeCtl.Tests.Status;

public sealed class QueueStatusTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Read_CountsFromControllerAndFromScan_Agree()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir, state: state);
        for (var i = 0; i < 5; i++)
        {
            CommandSender.Enqueue(_q.Dir, "model.dropout.p", [0.5]);
        }

        rt.PollAndApply(state, TimeSpan.Zero);
        CommandSender.Enqueue(_q.Dir, "save_ckpt");
        _q.AppendRaw("\n");
        _q.AppendAck("""{"id":"extra","ts":1.0,"status":"rejected","error":"x"}""" + "\n");

        var fast = QueueStatus.Read(_q.Dir, 3);
        var scanned = QueueStatus.Read(_q.Dir, 3, useControllerCounts: false);

        Assert.True(fast.Commands.FromController);
        Assert.True(fast.Acks.FromController);
        Assert.False(scanned.Commands.FromController);
        Assert.Equal(7, scanned.Commands.Lines);
        Assert.Equal(6, scanned.Acks.Lines);
        Assert.Equal(scanned.Commands, fast.Commands with { FromController = false });
        Assert.Equal(scanned.Acks, fast.Acks with { FromController = false });
        Assert.Equal(1, fast.Pending);
    }

    [Fact]
    public void Read_FilesReplacedSinceTheControllerWrote_FallsBackToScanning()
    {
        var state = new TrainState();
        using (var rt = Trainer.Create(_q.Dir, state: state))
        {
            CommandSender.Enqueue(_q.Dir, "model.dropout.p", [0.5]);
            CommandSender.Enqueue(_q.Dir, "model.dropout.p", [0.5]);
            rt.PollAndApply(state, TimeSpan.Zero);
        }

        File.WriteAllText(_q.Acks, "{}\n");
        File.WriteAllText(_q.Commands, string.Empty);

        var status = QueueStatus.Read(_q.Dir, 3);

        Assert.False(status.Acks.FromController);
        Assert.Equal(1, status.Acks.Lines);
        Assert.Equal(0, status.Commands.Lines);
        Assert.Equal(0, status.Pending);
    }
}
