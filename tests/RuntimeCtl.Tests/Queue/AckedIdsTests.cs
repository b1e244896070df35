namespace RuntimeCtl.Tests.Queue;

public sealed class AckedIdsTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Add_MoreThanTheWindow_KeepsTheRecentExactlyAndTheOlderInTheFilter()
    {
        var ids = new AckedIds(window: 4);
        for (ulong i = 1; i <= 10; i++)
        {
            ids.Add(i * 0x9E3779B97F4A7C15UL);
        }

        Assert.All(Enumerable.Range(7, 4), i => Assert.True(ids.IsRecent((ulong)i * 0x9E3779B97F4A7C15UL)));
        Assert.All(Enumerable.Range(1, 6), i => Assert.False(ids.IsRecent((ulong)i * 0x9E3779B97F4A7C15UL)));
        Assert.All(Enumerable.Range(1, 6), i => Assert.True(ids.MayBeOlder((ulong)i * 0x9E3779B97F4A7C15UL)));
        var random = new Random(7);
        Assert.Equal(0, Enumerable.Range(0, 10_000).Count(_ => ids.MayBeOlder((ulong)random.NextInt64())));
        Assert.Equal(10, ids.Count);
    }

    [Fact]
    public void Add_WithinTheWindow_AllocatesNoFilter()
    {
        var ids = new AckedIds(window: 4);
        ids.Add(1);
        ids.Add(2);

        Assert.False(ids.MayBeOlder(1)); // no filter: only the window answers
        Assert.True(ids.IsRecent(1));
    }

    [Fact]
    public void IsAcked_AnIdOlderThanTheWindow_IsConfirmedInTheAcksFile()
    {
        Directory.CreateDirectory(_q.Dir);
        File.WriteAllLines(Path.Combine(_q.Dir, "acks.jsonl"), Enumerable.Range(0, 10).Select(i => $$"""{"id":"id{{i}}","status":"applied"}"""));
        using var queue = new QueueDirectory(_q.Dir);
        using var state = new QueueState(queue, window: 4);
        state.Load();

        Assert.True(state.IsAcked("id9")); // recent: no lookup
        Assert.Equal(0, state.DiskLookups);
        Assert.True(state.IsAcked("id0")); // older: the filter says maybe, the file says yes
        Assert.Equal(1, state.DiskLookups);
        Assert.False(state.IsAcked("new"));
        Assert.Equal(1, state.DiskLookups);
    }

    [Fact]
    public void PollAndApply_DuplicateOfAnIdOlderThanTheWindow_IsRejected()
    {
        var lines = Enumerable.Range(0, AckedIds.DefaultWindow + 100)
            .Select(i => $$"""{"id":"c{{i}}","path":"model.dropout.p","args":[0.2]}""")
            .Append("""{"id":"c0","path":"model.dropout.p","args":[0.9]}""");
        Directory.CreateDirectory(_q.Dir);
        File.WriteAllLines(Path.Combine(_q.Dir, "commands.jsonl"), lines);
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxCommandsPerPoll = null, OnDiagnostic = _ => { } });
        var state = new TrainState();

        var acks = rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(AckedIds.DefaultWindow + 101, acks.Count);
        Assert.Equal(AckStatus.Rejected, acks[^1].Status);
        Assert.Equal("duplicate id", acks[^1].Error);
        Assert.Equal(0.2, state.Dropout);
    }
}
