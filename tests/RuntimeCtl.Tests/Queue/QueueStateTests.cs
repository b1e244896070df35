using System.Text;

namespace RuntimeCtl.Tests.Queue;

public sealed class QueueStateTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void ForEachId_LinesCutAsTheReadersCutThem_ReadsEveryId()
    {
        var acks = "\uFEFF{\"id\":\"a\"}\n\u000B{\"id\":\"b\"}\u00A0\r\n\n{\"id\":\"c\"}\n\uFEFF{\"id\":\"d\"}\n";
        var ids = new List<(long Offset, string Id)>();

        var lines = QueueState.ForEachId(new MemoryStream(Encoding.UTF8.GetBytes(acks)), (offset, id) => ids.Add((offset, id)));

        Assert.Equal(5, lines);
        Assert.Equal(["a", "b", "c"], ids.Select(i => i.Id)); // a BOM after the file's start is part of the line: no JSON
        Assert.Equal(0, ids[0].Offset);
    }

    [Fact]
    public void Configure_WithoutCursor_AckAfterAByteOrderMarkCountsAsAcked()
    {
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.3]}""");
        _q.AppendAck("\uFEFF" + """{"id":"a","ts":1.0,"path":"model.dropout.p","op":"set","status":"applied","args":[0.3],"kwargs":{}}""" + "\n");
        var state = new TrainState();

        using (var rt = Trainer.Create(_q.Dir))
        {
            rt.PollAndApply(state, TimeSpan.Zero);
        }

        Assert.Equal(0, state.Applied);
    }
}
