namespace RuntimeCtl.Tests.Ranks;

public sealed class IProcessGroupTests
{
    [Fact]
    public void Barrier_GroupWithoutItsOwn_GathersAndBroadcastsSoNoRankLeavesBeforeAllArrive()
    {
        var inner = ProcessGroup.CreateInProcess(2);
        var groups = inner.Select(g => new MinimalGroup(g)).ToArray();
        var arrived = new bool[2];
        var sawAllArrived = new bool[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            Volatile.Write(ref arrived[rank], true);
            ((IProcessGroup)groups[rank]).Barrier();
            sawAllArrived[rank] = Volatile.Read(ref arrived[0]) && Volatile.Read(ref arrived[1]);
        })).ToList();

        threads.ForEach(t => t.Start());

        Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(30)), "a rank deadlocked"));
        Assert.Equal([true, true], sawAllArrived);
        Assert.All(groups, g => Assert.Equal((1, 1), (g.Gathers, g.Broadcasts)));
    }

    /// <summary>A group that implements only what the interface requires.</summary>
    private sealed class MinimalGroup(IProcessGroup inner) : IProcessGroup
    {
        public int Gathers { get; private set; }

        public int Broadcasts { get; private set; }

        public int Rank => inner.Rank;

        public int Size => inner.Size;

        public void Broadcast(Span<byte> buffer)
        {
            Broadcasts++;
            inner.Broadcast(buffer);
        }

        public void Gather(ReadOnlySpan<byte> send, Span<byte> receive)
        {
            Gathers++;
            inner.Gather(send, receive);
        }
    }
}
