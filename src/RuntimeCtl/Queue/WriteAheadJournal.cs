using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace RuntimeCtl;

/// <summary>What the journal says about one command of the last batch: it was begun, and maybe finished.</summary>
/// <param name="Id">The command's id.</param>
/// <param name="SafeToRepeat">Whether its control was registered as safe to repeat.</param>
/// <param name="Path">The command's <c>path</c> as raw JSON (for an ack written without the line).</param>
/// <param name="Op">The command's <c>op</c> as raw JSON.</param>
/// <param name="Step">The step of the poll that began it, if it had one.</param>
/// <param name="Outcome">The whole ack line (without its newline) once the control finished, else null.</param>
internal sealed record JournalEntry(string Id, bool SafeToRepeat, byte[] Path, byte[] Op, long? Step, byte[]? Outcome);

/// <summary>
/// The write-ahead record of what the trainer is applying (<c>journal.bin</c>): before a control runs, a <i>begin</i>
/// record; after it, an <i>outcome</i> record holding the whole ack. Records are written in place into space reserved
/// with zeros when the journal is opened, so writing one needs no new blocks on a full disk: copied into a shared
/// mapping of the file where that is safe (<see cref="JournalMapping"/>), with <c>pwrite(2)</c> elsewhere. Each record
/// carries a checksum and the batch number; a batch starts again at offset 0, so the journal always holds the last
/// batch only, and a record that does not check out (torn, zeros, an older batch) ends it.
/// </summary>
/// <remarks>
/// A batch starts only when every ack of the previous one is in <c>acks.jsonl</c>, so the last batch is all a
/// restarted trainer needs: an outcome whose ack is missing is written from here; a begin without outcome is a
/// command whose effect is unknown. A commit cut short by a kill leaves any subset of its bytes (a copy into the mapping
/// need not store them in order; a <c>pwrite</c> stores whole pages in order): whichever of its records it tore fails
/// its checksum and ends the batch there, so what is read back is a prefix of the records, each one whole, and the
/// control of the command being committed had not run.
/// </remarks>
internal sealed class WriteAheadJournal : IDisposable
{
    public const string FileName = "journal.bin";

    private const int HeaderBytes = 4 + 8 + 8 + 1; // length, checksum, batch, type
    private const byte BeginRecord = 3;
    private const byte OutcomeRecord = 4;

    // Records checksummed with FNV-1a, as journals of earlier releases hold them: still read, no longer written.
    private const byte FnvBeginRecord = 1;
    private const byte FnvOutcomeRecord = 2;

    private readonly QueueDirectory _queue;
    private readonly long _capacity;
    private readonly bool _sync;
    private readonly ArrayBufferWriter<byte> _staged = new(4096);
    private FileStream? _file;
    private JournalMapping? _mapping; // null: commits are written with pwrite
    private long _batch;
    private long _offset;

    /// <param name="queue">The queue directory that holds the journal.</param>
    /// <param name="capacity">The bytes to reserve: a batch is cut where its records would not fit.</param>
    /// <param name="sync">Whether each commit is made durable before it returns (power-loss safety): <c>msync</c> of its pages, or <c>fdatasync</c>.</param>
    public WriteAheadJournal(QueueDirectory queue, long capacity, bool sync)
    {
        _queue = queue;
        _capacity = capacity;
        _sync = sync;
    }

    /// <summary>Gets whether the journal is open with its space reserved.</summary>
    public bool IsReady => _file is not null;

    /// <summary>Gets the number of bytes staged but not committed.</summary>
    public int Staged => _staged.WrittenCount;

    /// <summary>Gets whether commits are copied into a mapping of the file (else written with <c>pwrite</c>).</summary>
    public bool IsMapped => _mapping is not null;

    /// <summary>Gets why the journal is not mapped (empty when it is, or not open).</summary>
    public string NotMappedReason { get; private set; } = string.Empty;

    /// <summary>Opens the journal and reserves its space. False (with the error) when it cannot, e.g. on a full disk.</summary>
    public bool TryOpen(out Exception? error)
    {
        error = null;
        if (_file is not null)
        {
            return true;
        }

        FileStream? file = null;
        try
        {
            file = _queue.OpenFile(FileName, FileMode.OpenOrCreate, FileAccess.ReadWrite);
            var length = file.Length;
            if (length < _capacity)
            {
                var zeros = new byte[64 * 1024];
                for (var at = length; at < _capacity; at += zeros.Length)
                {
                    RandomAccess.Write(file.SafeFileHandle, zeros.AsSpan(0, (int)Math.Min(zeros.Length, _capacity - at)), at);
                }

                RandomAccess.FlushToDisk(file.SafeFileHandle);
            }

            _file = file;
            _mapping = JournalMapping.TryCreate(file, _capacity, out var reason);
            NotMappedReason = reason;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file?.Dispose();
            error = e;
            return false;
        }
    }

    /// <summary>Reads the last batch. Later batches continue its numbering.</summary>
    public List<JournalEntry> Recover()
    {
        var entries = new List<JournalEntry>();
        if (_file is null)
        {
            return entries;
        }

        var handle = _file.SafeFileHandle;
        var length = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[HeaderBytes];
        long at = 0;
        long? batch = null;
        while (at + HeaderBytes <= length && RandomAccess.Read(handle, header, at) == HeaderBytes)
        {
            var size = BinaryPrimitives.ReadInt32LittleEndian(header);
            var sum = BinaryPrimitives.ReadUInt64LittleEndian(header[4..]);
            var number = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
            var type = header[20];
            if (size <= 0 || at + HeaderBytes + size > length || (batch is { } b && number != b))
            {
                break;
            }

            var payload = new byte[size];
            if (RandomAccess.Read(handle, payload, at + HeaderBytes) != size || Checksum(number, type, payload) != sum)
            {
                break;
            }

            batch = number;
            at += HeaderBytes + size;
            if (type is BeginRecord or FnvBeginRecord && TryReadBegin(payload) is { } begin)
            {
                entries.Add(begin);
            }
            else if (type is OutcomeRecord or FnvOutcomeRecord && TryReadOutcome(payload, out var id, out var ack))
            {
                var index = entries.FindLastIndex(e => e.Id == id && e.Outcome is null);
                if (index >= 0)
                {
                    entries[index] = entries[index] with { Outcome = ack };
                }
            }
        }

        // Without a valid first record, number on from a random point: a stale record of an old batch further in
        // the file can then never pass for one of the next batch.
        _batch = batch ?? Random.Shared.NextInt64(1, long.MaxValue / 2);
        return entries;
    }

    /// <summary>Starts a new batch: its first commit overwrites the journal from the start.</summary>
    public void StartBatch()
    {
        _batch++;
        _offset = 0;
        _staged.Clear();
        _mapping?.Restart();
    }

    /// <summary>Stages the begin record of a command; false when the batch's records would not fit. Allocates nothing.</summary>
    public bool StageBegin(CommandLine line, bool safeToRepeat, long? step)
    {
        var id = line.Id;
        var idLength = Encoding.UTF8.GetByteCount(id);
        // The raw JSON of path and op, as the line has them (valid UTF-8: the parser checked it).
        var path = line.Path is { } p ? p.Json.Span : "null"u8;
        var op = line.Op is { } o ? o.Json.Span : "\"set\""u8;
        var size = 1 + 9 + 4 + idLength + 4 + path.Length + 4 + op.Length;
        if (!Fits(size))
        {
            return false;
        }

        var payload = StageHeader(size);
        payload[0] = safeToRepeat ? (byte)1 : (byte)0;
        payload[1] = step is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteInt64LittleEndian(payload[2..], step ?? 0);
        var rest = Put(payload[10..], id, idLength);
        rest = Put(rest, path);
        Put(rest, op);
        Seal(BeginRecord, size);
        return true;
    }

    /// <summary>Stages the outcome record of a command (its whole ack); false when it would not fit. Allocates nothing.</summary>
    public bool StageOutcome(string id, ReadOnlySpan<byte> ack)
    {
        var idLength = Encoding.UTF8.GetByteCount(id);
        var size = 4 + idLength + ack.Length;
        if (!Fits(size))
        {
            return false;
        }

        var rest = Put(StageHeader(size), id, idLength);
        ack.CopyTo(rest);
        Seal(OutcomeRecord, size);
        return true;
    }

    /// <summary>
    /// Writes the staged records: a copy into the mapping (no system call), or one <c>pwrite</c>; with power-loss
    /// safety they are durable when it returns (<c>msync</c> of their pages, or <c>fdatasync</c>). False (nothing
    /// counted as written) when it fails.
    /// </summary>
    public bool TryCommit(out Exception? error)
    {
        error = null;
        if (_staged.WrittenCount == 0)
        {
            return true;
        }

        if (_file is null)
        {
            _staged.Clear();
            error = new IOException("The journal is not open.");
            return false;
        }

        try
        {
            if (_mapping is { } mapping && mapping.TryWrite(_staged.WrittenSpan, _offset))
            {
                if (_sync)
                {
                    mapping.Flush(_offset, _staged.WrittenCount);
                }
            }
            else
            {
                if (_mapping is not null)
                {
                    // The range could not be faulted in (the file was cut short, a read failed): pwrite reports such
                    // failures as errors, where a store into the mapping would raise SIGBUS.
                    Unmap("a range of the mapping could not be faulted in writable");
                }

                RandomAccess.Write(_file.SafeFileHandle, _staged.WrittenSpan, _offset);
                if (_sync)
                {
                    RandomAccess.FlushToDisk(_file.SafeFileHandle);
                }
            }

            _offset += _staged.WrittenCount;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e;
            return false;
        }
        finally
        {
            _staged.Clear();
        }
    }

    /// <summary>Closes the journal; <see cref="TryOpen"/> opens it again.</summary>
    public void Close()
    {
        Unmap(string.Empty);
        _file?.Dispose();
        _file = null;
    }

    public void Dispose() => Close();

    private bool Fits(int size) => _offset + _staged.WrittenCount + HeaderBytes + size <= _capacity;

    private void Unmap(string reason)
    {
        _mapping?.Dispose();
        _mapping = null;
        NotMappedReason = reason;
    }

    private Span<byte> StageHeader(int size) => _staged.GetSpan(HeaderBytes + size).Slice(HeaderBytes, size);

    private void Seal(byte type, int size)
    {
        var record = _staged.GetSpan(HeaderBytes + size)[..(HeaderBytes + size)];
        BinaryPrimitives.WriteInt32LittleEndian(record, size);
        BinaryPrimitives.WriteUInt64LittleEndian(record[4..], Checksum(_batch, type, record[HeaderBytes..]));
        BinaryPrimitives.WriteInt64LittleEndian(record[12..], _batch);
        record[20] = type;
        _staged.Advance(HeaderBytes + size);
    }

    private static Span<byte> Put(Span<byte> into, string value, int length)
    {
        BinaryPrimitives.WriteInt32LittleEndian(into, length);
        Encoding.UTF8.GetBytes(value, into.Slice(4, length));
        return into[(4 + length)..];
    }

    private static Span<byte> Put(Span<byte> into, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(into, value.Length);
        value.CopyTo(into[4..]);
        return into[(4 + value.Length)..];
    }

    private static bool TryTake(ref ReadOnlySpan<byte> from, out byte[] value)
    {
        value = [];
        if (from.Length < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(from);
        if (length < 0 || length > from.Length - 4)
        {
            return false;
        }

        value = from.Slice(4, length).ToArray();
        from = from[(4 + length)..];
        return true;
    }

    private static JournalEntry? TryReadBegin(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 10)
        {
            return null;
        }

        var repeat = payload[0] == 1;
        long? step = payload[1] == 1 ? BinaryPrimitives.ReadInt64LittleEndian(payload[2..]) : null;
        var rest = payload[10..];
        return TryTake(ref rest, out var id) && TryTake(ref rest, out var path) && TryTake(ref rest, out var op)
            ? new JournalEntry(Encoding.UTF8.GetString(id), repeat, path, op, step, null)
            : null;
    }

    private static bool TryReadOutcome(ReadOnlySpan<byte> payload, out string id, out byte[] ack)
    {
        id = string.Empty;
        ack = [];
        if (!TryTake(ref payload, out var idBytes))
        {
            return false;
        }

        id = Encoding.UTF8.GetString(idBytes);
        ack = payload.ToArray();
        return true;
    }

    /// <summary>
    /// The checksum of a record: XXH64 of the payload, seeded with the batch and the type (about 0.1 cycle a byte
    /// where the FNV-1a of the older records took 4, a third of a command's cost in the drain); never 0, so a zeroed
    /// header never checks out.
    /// </summary>
    internal static ulong Checksum(long batch, byte type, ReadOnlySpan<byte> payload) => type is FnvBeginRecord or FnvOutcomeRecord
        ? FnvChecksum(batch, type, payload)
        : XxHash64(payload, unchecked(((ulong)batch * 0x9E3779B97F4A7C15UL) + type)) | 1;

    /// <summary>XXH64 (xxHash's 64-bit hash, the reference algorithm) of <paramref name="data"/>.</summary>
    internal static ulong XxHash64(ReadOnlySpan<byte> data, ulong seed)
    {
        const ulong P1 = 11400714785074694791UL, P2 = 14029467366897019727UL, P3 = 1609587929392839161UL, P4 = 9650029242287828579UL, P5 = 2870177450012600261UL;
        var length = (ulong)data.Length;
        ulong hash;
        if (data.Length >= 32)
        {
            ulong v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
            do
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt64LittleEndian(data));
                v2 = Round(v2, BinaryPrimitives.ReadUInt64LittleEndian(data[8..]));
                v3 = Round(v3, BinaryPrimitives.ReadUInt64LittleEndian(data[16..]));
                v4 = Round(v4, BinaryPrimitives.ReadUInt64LittleEndian(data[24..]));
                data = data[32..];
            }
            while (data.Length >= 32);

            hash = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
            hash = Merge(Merge(Merge(Merge(hash, v1), v2), v3), v4);
        }
        else
        {
            hash = seed + P5;
        }

        hash += length;
        for (; data.Length >= 8; data = data[8..])
        {
            hash ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(data));
            hash = (BitOperations.RotateLeft(hash, 27) * P1) + P4;
        }

        if (data.Length >= 4)
        {
            hash ^= BinaryPrimitives.ReadUInt32LittleEndian(data) * P1;
            hash = (BitOperations.RotateLeft(hash, 23) * P2) + P3;
            data = data[4..];
        }

        foreach (var b in data)
        {
            hash ^= b * P5;
            hash = BitOperations.RotateLeft(hash, 11) * P1;
        }

        hash ^= hash >> 33;
        hash *= P2;
        hash ^= hash >> 29;
        hash *= P3;
        return hash ^ (hash >> 32);

        static ulong Round(ulong accumulator, ulong input) => BitOperations.RotateLeft(accumulator + (input * P2), 31) * P1;

        static ulong Merge(ulong accumulator, ulong value) => ((accumulator ^ Round(0, value)) * P1) + P4;
    }

    /// <summary>FNV-1a over the batch, the type and the payload (the checksum of the older records).</summary>
    private static ulong FnvChecksum(long batch, byte type, ReadOnlySpan<byte> payload)
    {
        Span<byte> head = stackalloc byte[9];
        BinaryPrimitives.WriteInt64LittleEndian(head, batch);
        head[8] = type;
        var hash = 14695981039346656037UL;
        foreach (var b in head)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        foreach (var b in payload)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash | 1;
    }
}
