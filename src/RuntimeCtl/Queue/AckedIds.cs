namespace RuntimeCtl;

/// <summary>
/// The ids that have acks (as 64-bit hashes, <see cref="QueueState.Hash(string)"/>), in memory that does not grow with
/// the queue: the most recent <see cref="DefaultWindow"/> exactly, every older one in a fixed-size Bloom filter.
/// </summary>
/// <remarks>
/// <para>
/// A command is planned, and its id marked, before its ack is written, so every id whose ack may still be unwritten
/// is in the exact window (a poll holds far fewer than <see cref="DefaultWindow"/> commands). An id the filter may
/// hold (a sender repeating an old id, or a false positive, about one in ten million ids while the filter holds
/// a million) is confirmed by the caller against <c>acks.jsonl</c>, the truth, so the answer is always exact; only
/// its cost grows, and only for those ids.
/// </para>
/// <para>
/// The filter is a split block Bloom filter (as Parquet's): 8 bits in one 32-byte block per id, so an insert or a
/// lookup touches one cache line. It is allocated when the window first overflows: <see cref="FilterBytes"/>, with
/// about 67 bits per id at a million ids.
/// </para>
/// </remarks>
internal sealed class AckedIds
{
    /// <summary>The ids kept exactly.</summary>
    public const int DefaultWindow = 65_536;

    /// <summary>The size of the filter of older ids.</summary>
    public const int FilterBytes = 8 * 1024 * 1024;

    private static readonly uint[] Salt = [0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU, 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U];

    private readonly int _window;
    private readonly HashSet<ulong> _recent;
    private readonly ulong[] _ring;
    private int _next;
    private uint[]? _filter;

    public AckedIds(int window = DefaultWindow)
    {
        _window = window;
        _recent = new HashSet<ulong>(window);
        _ring = new ulong[window];
    }

    /// <summary>Gets the number of ids added.</summary>
    public long Count { get; private set; }

    /// <summary>Adds an id's hash.</summary>
    public void Add(ulong hash)
    {
        if (!_recent.Add(hash))
        {
            return;
        }

        Count++;
        if (_recent.Count > _window)
        {
            var oldest = _ring[_next];
            _recent.Remove(oldest);
            AddToFilter(oldest);
        }

        _ring[_next] = hash;
        _next = (_next + 1) % _window;
    }

    /// <summary>Whether the id is surely acked (it is among the recent ones).</summary>
    public bool IsRecent(ulong hash) => _recent.Contains(hash);

    /// <summary>Whether an older id may be acked: <see langword="false"/> is certain, <see langword="true"/> must be confirmed.</summary>
    public bool MayBeOlder(ulong hash)
    {
        if (_filter is not { } filter)
        {
            return false;
        }

        var block = Block(hash, filter.Length);
        var key = (uint)hash;
        for (var i = 0; i < 8; i++)
        {
            if ((filter[block + i] & (1U << (int)((key * Salt[i]) >> 27))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    private void AddToFilter(ulong hash)
    {
        var filter = _filter ??= new uint[FilterBytes / sizeof(uint)];
        var block = Block(hash, filter.Length);
        var key = (uint)hash;
        for (var i = 0; i < 8; i++)
        {
            filter[block + i] |= 1U << (int)((key * Salt[i]) >> 27);
        }
    }

    /// <summary>The first word of the hash's block: the high 32 bits scaled to the number of 8-word blocks.</summary>
    private static int Block(ulong hash, int words) => (int)(((hash >> 32) * (ulong)(words / 8)) >> 32) * 8;
}
