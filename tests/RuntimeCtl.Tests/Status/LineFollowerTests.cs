using System.Text;

namespace RuntimeCtl.Tests.Status;

public sealed class LineFollowerTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void ReadNew_LineLongerThanOneBlock_IsReadAndTheStreamGoesOn()
    {
        _q.AppendAck(string.Empty);
        var follower = LineFollower.FromEnd(_q.Acks);
        var big = "{\"label\":\"" + new string('x', 300 * 1024) + "\"}";
        _q.AppendAck(big + "\n{\"after\":1}\n");

        var lines = follower.ReadAppended();
        _q.AppendAck("{\"later\":2}\n");
        var later = follower.ReadAppended();

        Assert.Equal([big, "{\"after\":1}"], lines);
        Assert.Equal(["{\"later\":2}"], later);
    }

    [Fact]
    public void ReadNew_LineOfTwoMebibytes_IsRead()
    {
        // Under the readers' one limit (LineText.MaxReadBytes): an ack echoes a command the trainer accepted, and a
        // trainer's limit may be raised above 1 MiB.
        var big = "{\"label\":\"" + new string('x', 2 * 1024 * 1024) + "\"}";
        _q.AppendAck(big + "\n");

        Assert.Equal([big], new LineFollower(_q.Acks, 0).ReadAppended());
    }

    [Fact]
    public void ReadNew_LineOverTheLimit_IsSkippedAcrossLooksAndTheNextLineRead()
    {
        var follower = new LineFollower(_q.Acks, 0);
        _q.AppendAck("{\"label\":\"" + new string('x', LineText.MaxReadBytes));

        Assert.Empty(follower.ReadAppended());
        _q.AppendAck("\"}\n{\"after\":1}\n");
        Assert.Equal(["{\"after\":1}"], follower.ReadAppended());
        Assert.Equal(new FileInfo(_q.Acks).Length, follower.Offset);
    }

    [Fact]
    public void ReadNew_PartialLine_WaitsForItsNewline()
    {
        var follower = new LineFollower(_q.Acks, 0);
        _q.AppendAck("{\"id\":");

        Assert.Empty(follower.ReadAppended());
        Assert.Equal(0, follower.Offset);
        _q.AppendAck("1}\n");
        Assert.Equal(["{\"id\":1}"], follower.ReadAppended());
    }

    [Fact]
    public void ReadNew_BlankAroundLinesAndBlankLines_AsTheTrainerCutsThem()
    {
        _q.AppendAck("\uFEFF{\"a\":1}\r\n \t\n\u00A0{\"b\":2}\u2028\u001C\n\n");

        Assert.Equal(["{\"a\":1}", "{\"b\":2}"], new LineFollower(_q.Acks, 0).ReadAppended());
    }

    [Fact]
    public void ReadNew_ByteOrderMarkAfterTheFileStart_StaysInTheLine()
    {
        _q.AppendAck("{\"a\":1}\n\uFEFF{\"b\":2}\n");

        Assert.Equal(["{\"a\":1}", "\uFEFF{\"b\":2}"], new LineFollower(_q.Acks, 0).ReadAppended());
    }

    [Fact]
    public void ReadNew_FileShorterThanTheOffset_IsReadFromItsStart()
    {
        _q.AppendAck("{\"a\":1}\n{\"b\":2}\n");
        var follower = LineFollower.FromEnd(_q.Acks);
        File.WriteAllBytes(_q.Acks, Encoding.UTF8.GetBytes("{\"c\":3}\n"));

        Assert.Equal(["{\"c\":3}"], follower.ReadAppended());
    }

    [Fact]
    public void ReadNew_MissingFile_IsNothingYet()
    {
        Assert.Empty(new LineFollower(_q.Acks, 0).ReadAppended());
        Assert.Equal(0, LineFollower.LengthOf(_q.Acks));
    }
}
