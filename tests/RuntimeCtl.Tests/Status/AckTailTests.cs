namespace RuntimeCtl.Tests.Status;

public sealed class AckTailTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    private static string Ack(int i, int padding = 0) => $$$"""{"id":"a{{{i}}}","ts":1.0,"path":"p","op":"set","status":"applied","args":["{{{new string('x', padding)}}}"],"kwargs":{}}""";

    private static string[] Ids(AckTail tail) => tail.Acks.Select(a => a.GetProperty("id").GetString()!).ToArray();

    [Fact]
    public void Read_FewerAcksThanAsked_ReturnsAllOldestFirst()
    {
        _q.AppendAck(Ack(1) + "\n" + Ack(2) + "\n");

        var tail = AckTail.Read(_q.Acks, 10);

        Assert.Equal(["a1", "a2"], Ids(tail));
        Assert.Equal(0, tail.BadLines);
    }

    [Fact]
    public void Read_LinesAcrossBlockBoundaries_AreWhole()
    {
        for (var i = 0; i < 40; i++)
        {
            _q.AppendAck(Ack(i, padding: 7_000 + (i * 997)) + "\n");
        }

        var tail = AckTail.Read(_q.Acks, 25);

        Assert.Equal(Enumerable.Range(15, 25).Select(i => $"a{i}"), Ids(tail));
        Assert.Equal(7_000 + (39 * 997), tail.Acks[^1].GetProperty("args")[0].GetString()!.Length);
    }

    [Fact]
    public void Read_LineLongerThanABlock_IsWhole()
    {
        _q.AppendAck(Ack(1) + "\n" + Ack(2, padding: 200_000) + "\n" + Ack(3) + "\n");

        var tail = AckTail.Read(_q.Acks, 2);

        Assert.Equal(["a2", "a3"], Ids(tail));
    }

    [Fact]
    public void Read_BadAndBlankLines_AreSkippedAndBadOnesCounted()
    {
        _q.AppendAck(Ack(1) + "\n\n   \n{bad\n\"str\"\n" + Ack(2) + "\r\n");

        var tail = AckTail.Read(_q.Acks, 5);

        Assert.Equal(["a1", "a2"], Ids(tail));
        Assert.Equal(2, tail.BadLines);
        Assert.Contains("not an object", tail.FirstProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_StopsOnceItHasEnough_BadLinesBeforeAreNotSeen()
    {
        _q.AppendAck("{bad\n" + Ack(1) + "\n" + Ack(2) + "\n");

        var tail = AckTail.Read(_q.Acks, 2);

        Assert.Equal(0, tail.BadLines);
    }

    [Fact]
    public void Read_LineBeingWritten_IsNotAnAck()
    {
        _q.AppendAck(Ack(1) + "\n" + Ack(2)[..20]);

        var tail = AckTail.Read(_q.Acks, 5);

        Assert.Equal(["a1"], Ids(tail));
        Assert.Equal(0, tail.BadLines);
    }

    [Fact]
    public void Read_ByteOrderMarkAtStart_IsSkipped()
    {
        _q.AppendAck("\uFEFF" + Ack(1) + "\n");

        Assert.Equal(["a1"], Ids(AckTail.Read(_q.Acks, 1)));
    }

    [Fact]
    public void Read_UnicodeWhiteSpaceAndSeparatorsAroundALine_AreTrimmedAsTheTrainerTrims()
    {
        _q.AppendAck("\u00A0" + Ack(1) + "\u2028\n\u001C" + Ack(2) + "\u000B\n\u3000\n");

        var tail = AckTail.Read(_q.Acks, 5);

        Assert.Equal(["a1", "a2"], Ids(tail));
        Assert.Equal(0, tail.BadLines);
    }

    [Fact]
    public void Read_ByteOrderMarkAfterTheFileStart_IsABadLine()
    {
        _q.AppendAck(Ack(1) + "\n\uFEFF" + Ack(2) + "\n");

        var tail = AckTail.Read(_q.Acks, 5);

        Assert.Equal(["a1"], Ids(tail));
        Assert.Equal(1, tail.BadLines);
    }

    [Fact]
    public void Read_UpTo_IgnoresLinesWrittenAfterTheCount()
    {
        _q.AppendAck(Ack(1) + "\n");
        var counted = new FileInfo(_q.Acks).Length;
        _q.AppendAck(Ack(2) + "\n");

        Assert.Equal(["a1"], Ids(AckTail.Read(_q.Acks, 5, upTo: counted)));
    }

    [Fact]
    public void Read_ZeroOrMissing_IsEmpty()
    {
        _q.AppendAck(Ack(1) + "\n");

        Assert.Empty(AckTail.Read(_q.Acks, 0).Acks);
        Assert.Empty(AckTail.Read(Path.Combine(_q.Root, "none.jsonl"), 5).Acks);
    }
}
