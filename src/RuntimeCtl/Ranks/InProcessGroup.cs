namespace RuntimeCtl;

/// <summary>Ranks as threads of one process, synchronised by a <see cref="System.Threading.Barrier"/>.</summary>
internal sealed class InProcessGroup : IProcessGroup
{
    private readonly Shared _shared;

    private InProcessGroup(Shared shared, int rank)
    {
        _shared = shared;
        Rank = rank;
    }

    public int Rank { get; }

    public int Size => _shared.Size;

    public static IProcessGroup[] Create(int size)
    {
        var shared = new Shared(size);
        var groups = new IProcessGroup[size];
        for (var i = 0; i < size; i++)
        {
            groups[i] = new InProcessGroup(shared, i);
        }

        return groups;
    }

    public void Barrier() => _shared.Barrier.SignalAndWait();

    public void Broadcast(Span<byte> buffer)
    {
        if (Rank == 0)
        {
            _shared.Slot = buffer.ToArray();
        }

        // Two phases: rank 0 publishes, everyone copies, then rank 0 may reuse the slot.
        _shared.Barrier.SignalAndWait();
        if (Rank != 0)
        {
            _shared.Slot.AsSpan(0, buffer.Length).CopyTo(buffer);
        }

        _shared.Barrier.SignalAndWait();
    }

    public void Gather(ReadOnlySpan<byte> send, Span<byte> receive)
    {
        _shared.Blocks[Rank] = send.ToArray();
        _shared.Barrier.SignalAndWait();
        if (Rank == 0)
        {
            for (var r = 0; r < Size; r++)
            {
                _shared.Blocks[r].CopyTo(receive[(r * send.Length)..]);
            }
        }

        _shared.Barrier.SignalAndWait();
    }

    private sealed class Shared(int size)
    {
        public int Size { get; } = size;

        public System.Threading.Barrier Barrier { get; } = new(size);

        public byte[] Slot { get; set; } = [];

        public byte[][] Blocks { get; } = new byte[size][];
    }
}
