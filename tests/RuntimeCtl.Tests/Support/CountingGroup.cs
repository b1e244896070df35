namespace RuntimeCtl.Tests.Support;

/// <summary>Wraps a process group and counts its collectives, to prove which polls run none.</summary>
public sealed class CountingGroup(IProcessGroup inner) : IProcessGroup
{
    private int _collectives;

    public int Collectives => Volatile.Read(ref _collectives);

    public int Rank => inner.Rank;

    public int Size => inner.Size;

    public void Barrier()
    {
        Interlocked.Increment(ref _collectives);
        inner.Barrier();
    }

    public void Broadcast(Span<byte> buffer)
    {
        Interlocked.Increment(ref _collectives);
        inner.Broadcast(buffer);
    }

    public void Gather(ReadOnlySpan<byte> send, Span<byte> receive)
    {
        Interlocked.Increment(ref _collectives);
        inner.Gather(send, receive);
    }
}
