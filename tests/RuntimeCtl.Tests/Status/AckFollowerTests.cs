namespace RuntimeCtl.Tests.Status;

public sealed class AckFollowerTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    private static string Ack(string id, string status = "applied") => $$"""{"id":"{{id}}","ts":1.0,"path":"p","op":"set","status":"{{status}}","error":"e"}""";

    [Fact]
    public void Poll_AckAfterTheOffset_IsFoundAsWritten()
    {
        _q.AppendAck(Ack("id-1") + "\n");
        var follower = new AckFollower(_q.Acks, "id-1", LineFollower.LengthOf(_q.Acks));
        Assert.Null(follower.Poll());

        _q.AppendAck(Ack("id-0") + "\n" + Ack("id-1", "rejected") + "\n");

        var found = follower.Poll();
        Assert.Equal(new FoundAck(Ack("id-1", "rejected"), "rejected"), found);
    }

    [Fact]
    public void Poll_PartialLine_IsReadOnceComplete()
    {
        _q.Create();
        var follower = new AckFollower(_q.Acks, "id-1", 0);
        _q.AppendAck(Ack("id-1")[..30]);

        Assert.Null(follower.Poll());
        Assert.Equal(0, follower.Offset);
        _q.AppendAck(Ack("id-1")[30..] + "\n");
        Assert.Equal("applied", follower.Poll()?.Status);
    }

    [Fact]
    public void Poll_IdOnlyInsideAnotherField_IsNotAMatch()
    {
        _q.AppendAck("""{"id":"other","ts":1.0,"status":"failed","error":"id-1"}""" + "\n");

        Assert.Null(new AckFollower(_q.Acks, "id-1", 0).Poll());
    }

    [Fact]
    public void Poll_AckAfterAByteOrderMarkAtTheFileStart_IsFound()
    {
        _q.AppendAck("\uFEFF" + Ack("id-1") + "\n");

        Assert.Equal(new FoundAck(Ack("id-1"), "applied"), new AckFollower(_q.Acks, "id-1", 0).Poll());
    }

    [Fact]
    public void Poll_AckInUnicodeWhiteSpace_IsFoundWithoutIt()
    {
        _q.AppendAck("\u00A0" + Ack("id-1") + "\u2028\r\n");

        Assert.Equal(new FoundAck(Ack("id-1"), "applied"), new AckFollower(_q.Acks, "id-1", 0).Poll());
    }

    [Fact]
    public void Poll_AckLongerThanOneBlock_IsFound()
    {
        var ack = $$$"""{"id":"id-1","ts":1.0,"path":"p","op":"set","status":"applied","args":["{{{new string('x', 200_000)}}}"],"kwargs":{}}""";
        _q.AppendAck(Ack("id-0") + "\n" + ack + "\n");

        Assert.Equal(new FoundAck(ack, "applied"), new AckFollower(_q.Acks, "id-1", 0).Poll());
    }

    [Fact]
    public void Poll_MissingFile_IsNothingYet()
    {
        Assert.Null(new AckFollower(_q.Acks, "id-1", 0).Poll());
    }

    [Fact]
    public void Poll_FileShorterThanTheOffset_IsReadFromItsStart()
    {
        _q.AppendAck(Ack("id-1") + "\n");
        var follower = new AckFollower(_q.Acks, "id-1", 1_000_000);

        var found = follower.Poll();

        Assert.Equal(Ack("id-1"), found?.Line);
        Assert.Equal("applied", found?.Status);
        Assert.Equal(Ack("id-1").Length + 1, follower.Offset);
    }
}
