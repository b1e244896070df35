using System.Text;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Queue;

public sealed class HeldCommandsTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void PollAndApply_FloodOfFarOffCommands_HoldsAtMostTheCapRejectsTheRestAndStillAppliesOrdinaryOnes()
    {
        using var rt = Trainer.Create(_q.Dir);
        var flood = new StringBuilder();
        for (var i = 0; i < HeldCommands.Capacity + 500; i++)
        {
            flood.Append("{\"id\":\"h").Append(i).Append("\",\"path\":\"save_ckpt\",\"at_step\":1000000}\n");
        }

        _q.AppendRaw(flood.ToString());
        _q.AppendLine("""{"id":"now","path":"model.dropout.p","args":[0.3]}""");
        var state = new TrainState();

        var acks = rt.PollAndApplyAtStep(state, step: 1, everySteps: 1);

        Assert.Equal(0.3, state.Dropout); // the ordinary command does not wait behind the held ones
        Assert.Equal(501, acks.Count);
        Assert.All(acks.Take(500), a =>
        {
            Assert.Equal(AckStatus.Rejected, a.Status);
            Assert.Contains("too many commands are held", a.Error, StringComparison.Ordinal);
        });
        Assert.Equal(["now"], acks.Skip(500).Select(a => a.Id));
        Assert.Empty(rt.PollAndApplyAtStep(state, step: 2, everySteps: 1));
    }

    [Fact]
    public void PollAndApply_HeldCommandsDueTogether_RunInFileOrder()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"late","path":"model.dropout.p","args":[0.5],"at_step":7}""");
        _q.AppendLine("""{"id":"early","path":"model.dropout.p","args":[0.2],"at_step":3}""");
        var state = new TrainState();
        Assert.Empty(rt.PollAndApplyAtStep(state, step: 1, everySteps: 1));

        var acks = rt.PollAndApplyAtStep(state, step: 10, everySteps: 1);

        Assert.Equal(["late", "early"], acks.Select(a => a.Id));
        Assert.Equal(0.2, state.Dropout);
    }

    [Fact]
    public void PollAndApply_HeldIdSentAgain_IsADuplicate()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"x","path":"model.dropout.p","args":[0.5],"at_step":7}""");
        _q.AppendLine("""{"id":"x","path":"model.dropout.p","args":[0.2]}""");

        var acks = rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 1);

        var ack = Assert.Single(acks);
        Assert.Equal("duplicate id", ack.Error);
    }
}
