namespace RuntimeCtl.Tests.Status;

public sealed class CommandHistoryTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Read_AppliedRejectedFailedAndPending_EachWithItsOutcomeAndStep()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"a","ts":1.5,"path":"model.dropout.p","args":[0.3]}""");
        _q.AppendLine("""{"id":"r","path":"nope","args":[]}""");
        _q.AppendLine("""{"id":"f","path":"model.dropout.p","args":[1.5]}""");
        _q.AppendLine("   ");
        _q.AppendLine("not json");
        rt.PollAndApplyAtStep(new TrainState(), step: 4, everySteps: 1);
        _q.AppendLine("""{"id":"p","path":"model.dropout.p","args":[0.1]}""");
        _q.AppendRaw("""{"id":"torn","path":"mo""");

        var entries = CommandHistory.Read(_q.Dir, 1024 * 1024).ToList();

        Assert.Equal(["a:applied:4", "r:rejected:4", "f:failed:4", "invalid:rejected:4", "p:pending:"], entries.Select(e => $"{(e.Invalid is null ? e.Id : "invalid")}:{e.Status}:{e.Step}"));
        Assert.Equal([1L, 2, 3, 5, 6], entries.Select(e => e.Line));
        Assert.Equal(1.5, entries[0].Field("ts")!.Value.GetDouble());
        Assert.Equal("unknown path: nope", entries[1].Error);
        Assert.Contains("dropout p must be", entries[2].Error, StringComparison.Ordinal);
        Assert.Equal(_q.ReadAcks()[3].GetProperty("id").GetString(), entries[3].Id); // the trainer's generated id
    }

    [Fact]
    public void Read_AckWithABomAndBlankAroundIt_IsTheCommandsOutcome()
    {
        _q.AppendLine("""{"id":"a","path":"p","args":[]}""");
        _q.AppendLine("""{"id":"b","path":"p","args":[]}""");
        _q.AppendAck("\uFEFF" + """{"id":"a","ts":1.0,"path":"p","op":"set","status":"applied","args":[],"kwargs":{}}""" + "\n");
        _q.AppendAck("\u000B" + """{"id":"b","ts":1.0,"path":"p","op":"set","status":"rejected","error":"e","step":3}""" + "\u00A0\n");

        var entries = CommandHistory.Read(_q.Dir, 1024 * 1024).ToList();

        Assert.Equal(["a:applied:", "b:rejected:3"], entries.Select(e => $"{e.Id}:{e.Status}:{e.Step}"));
    }

    [Fact]
    public void Read_DuplicateId_GivesEachLineItsOwnAck()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"x","path":"model.dropout.p","args":[0.3]}""");
        _q.AppendLine("""{"id":"x","path":"model.dropout.p","args":[0.4]}""");
        rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 1);

        var entries = CommandHistory.Read(_q.Dir, 1024 * 1024).ToList();

        Assert.Equal(["applied", "rejected"], entries.Select(e => e.Status));
        Assert.Equal("duplicate id", entries[1].Error);
    }

    [Fact]
    public void Read_BomAndOverlongLine_ReadAsTheTrainerReadsThem()
    {
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxLineBytes = 1024, OnDiagnostic = _ => { } });
        _q.AppendBytes([0xEF, 0xBB, 0xBF]);
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.3]}""");
        _q.AppendLine("{\"id\":\"big\",\"path\":\"save_ckpt\",\"kwargs\":{\"label\":\"" + new string('x', 3000) + "\"}}");
        rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 1);

        var entries = CommandHistory.Read(_q.Dir, 1024).ToList();

        Assert.Equal(["applied", "rejected"], entries.Select(e => e.Status));
        Assert.Equal("a", entries[0].Id);
        Assert.Contains("over the limit", entries[1].Invalid, StringComparison.Ordinal);
        Assert.Equal(_q.ReadAcks()[1].GetProperty("id").GetString(), entries[1].Id);
    }

    [Fact]
    public void Read_ReplacedCommandsFile_ListsTheFileAsItIsNow()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"old","path":"model.dropout.p","args":[0.3]}""");
        rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 1);
        File.WriteAllText(_q.Commands, """{"id":"old","path":"model.dropout.p","args":[0.3]}""" + "\n" + """{"id":"new","path":"model.dropout.p","args":[0.2]}""" + "\n");

        var entries = CommandHistory.Read(_q.Dir, 1024 * 1024).ToList();

        Assert.Equal(["old:applied", "new:pending"], entries.Select(e => $"{e.Id}:{e.Status}"));
    }
}
