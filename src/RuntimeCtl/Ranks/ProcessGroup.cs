namespace RuntimeCtl;

/// <summary>Factories for the process groups that ship in the core.</summary>
public static class ProcessGroup
{
    /// <summary>Gets the group of a job with one process: rank 0 of 1, every collective a no-op.</summary>
    public static IProcessGroup SingleProcess { get; } = new SingleProcessGroup();

    /// <summary>
    /// Creates <paramref name="size"/> ranks that live in this process, one per thread, for testing
    /// multi-rank code without MPI. Each returned group must be used from its own thread.
    /// </summary>
    /// <param name="size">The number of ranks, at least 1.</param>
    /// <returns>The groups, indexed by rank.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1.</exception>
    public static IReadOnlyList<IProcessGroup> CreateInProcess(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return InProcessGroup.Create(size);
    }
}

internal sealed class SingleProcessGroup : IProcessGroup
{
    public int Rank => 0;

    public int Size => 1;

    public void Barrier()
    {
    }

    public void Broadcast(Span<byte> buffer)
    {
    }

    public void Gather(ReadOnlySpan<byte> send, Span<byte> receive) => send.CopyTo(receive);
}
