namespace RuntimeCtl;

/// <summary>
/// The ranks of one job and the few collectives the controller needs to make every rank apply the same
/// commands at the same step. Every member except <see cref="Rank"/> and <see cref="Size"/> is a
/// collective: every rank must call it, in the same order, with buffers of the same length.
/// </summary>
/// <remarks>
/// The core ships <see cref="ProcessGroup.SingleProcess"/> (one process) and
/// <see cref="ProcessGroup.CreateInProcess(int)"/> (ranks as threads, for tests); the package
/// <c>RuntimeCtl.Mpi</c> ships the MPI implementation. Implementations need not be thread-safe: the
/// controller calls them from the thread that polls.
/// </remarks>
public interface IProcessGroup
{
    /// <summary>Gets this process's rank, from 0 to <see cref="Size"/> - 1.</summary>
    int Rank { get; }

    /// <summary>Gets the number of ranks in the job (the world size).</summary>
    int Size { get; }

    /// <summary>
    /// Blocks until every rank has called it. The controller never calls it; it is here for controls and tools
    /// that need the ranks in step (a timed section). The default is a gather to rank 0 and a broadcast back.
    /// </summary>
    void Barrier()
    {
        Span<byte> token = stackalloc byte[1];
        Gather(token, Rank == 0 ? new byte[Size] : []);
        Broadcast(token);
    }

    /// <summary>
    /// Copies <paramref name="buffer"/> of rank 0 into <paramref name="buffer"/> of every other rank.
    /// Every rank passes a buffer of the same length.
    /// </summary>
    /// <param name="buffer">The data on rank 0; the destination on the other ranks.</param>
    void Broadcast(Span<byte> buffer);

    /// <summary>
    /// Gathers one block of the same length from every rank to rank 0, in rank order.
    /// </summary>
    /// <param name="send">This rank's block; every rank passes the same length.</param>
    /// <param name="receive">On rank 0, <see cref="Size"/> × <c>send.Length</c> bytes that receive the blocks
    /// in rank order; ignored on other ranks (may be empty).</param>
    void Gather(ReadOnlySpan<byte> send, Span<byte> receive);
}
