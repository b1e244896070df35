using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace RuntimeCtl;

/// <summary>One complete line of <c>commands.jsonl</c>, or the place of one that was too long to hold.</summary>
/// <param name="Offset">The file offset of the line's first byte.</param>
/// <param name="End">The file offset just after the line's <c>\n</c>.</param>
/// <param name="Start">Where the line's bytes start in the batch's buffer.</param>
/// <param name="Length">The number of bytes in the batch's buffer (0 for an oversize line).</param>
/// <param name="Oversize">Whether the line exceeded the size limit (its bytes were not kept).</param>
internal readonly record struct RawLine(long Offset, long End, int Start, int Length, bool Oversize);

/// <summary>The lines one read produced, with their bytes side by side in one buffer.</summary>
internal sealed class LineBatch(int ceiling)
{
    private const int DoublingBytes = 1024 * 1024;

    private byte[] _bytes = new byte[4096];

    public List<RawLine> Lines { get; } = [];

    public int ByteCount { get; private set; }

    public ReadOnlySpan<byte> Line(in RawLine line) => _bytes.AsSpan(line.Start, line.Length);

    public ReadOnlyMemory<byte> Memory(int start, int length) => _bytes.AsMemory(start, length);

    public void Clear()
    {
        Lines.Clear();
        ByteCount = 0;
        if (_bytes.Length > ceiling)
        {
            _bytes = new byte[4096]; // an outsized batch must not pin its buffer for the controller's lifetime
        }
    }

    public void Add(long offset, long end, ReadOnlySpan<byte> bytes)
    {
        if (ByteCount + bytes.Length > _bytes.Length)
        {
            // Grows by doubling up to 1 MiB (a batch of short lines needs a small part of the ceiling), then jumps to the ceiling.
            var needed = ByteCount + bytes.Length;
            Array.Resize(ref _bytes, needed <= DoublingBytes ? Math.Max(_bytes.Length * 2, needed) : Math.Max(ceiling, needed));
        }

        bytes.CopyTo(_bytes.AsSpan(ByteCount));
        Lines.Add(new RawLine(offset, end, ByteCount, bytes.Length, Oversize: false));
        ByteCount += bytes.Length;
    }

    public void AddOversize(long offset, long end) => Lines.Add(new RawLine(offset, end, ByteCount, 0, Oversize: true));
}

/// <summary>
/// Streams complete lines of <c>commands.jsonl</c> from a position, with one pooled buffer, never holding a line
/// longer than the limit. Bytes after the last <c>\n</c> are a write in progress and stay for a later read.
/// </summary>
internal sealed class CommandReader : IDisposable
{
    private const int ChunkSize = 64 * 1024;

    private readonly QueueDirectory _queue;
    private readonly int _maxLineBytes;
    private FileStream? _file;
    private SafeFileHandle? _handle;
    private byte[] _buffer;
    private long _oversizeStart = -1;
    private long _oversizeScanned;

    public CommandReader(QueueDirectory queue, int maxLineBytes)
    {
        _queue = queue;
        _maxLineBytes = maxLineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
    }

    /// <summary>Gets or sets the offset of the first byte not consumed yet.</summary>
    public long Position { get; set; }

    /// <summary>Gets the length of the file behind the open handle, or -1 when it cannot be opened.</summary>
    public long Length()
    {
        var handle = Handle();
        return handle is null ? -1 : RandomAccess.GetLength(handle);
    }

    /// <summary>Closes the handle, so the next read opens the file at the path again (after a rotation).</summary>
    public void Reopen()
    {
        _file?.Dispose();
        _file = null;
        _handle = null;
        _oversizeStart = -1;
    }

    /// <summary>Reads the bytes <c>[offset, offset + count)</c>, or fewer at the end of the file.</summary>
    public int ReadAt(long offset, Span<byte> destination)
    {
        var handle = Handle();
        if (handle is null)
        {
            return 0;
        }

        var total = 0;
        while (total < destination.Length)
        {
            var read = RandomAccess.Read(handle, destination[total..], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>
    /// Appends up to <paramref name="maxLines"/> complete lines from <see cref="Position"/> to <paramref name="batch"/>,
    /// stopping early once the batch holds <paramref name="maxBytes"/>: a backlog is read in bounded pieces.
    /// </summary>
    public void Read(LineBatch batch, int maxLines, int maxBytes)
    {
        var handle = Handle();
        if (handle is null)
        {
            return;
        }

        var length = RandomAccess.GetLength(handle);
        if (Position == 0 && length >= 3)
        {
            Span<byte> head = stackalloc byte[3];
            if (ReadAt(0, head) == 3 && head.SequenceEqual(LineText.ByteOrderMark))
            {
                Position = 3;
            }
        }

        var added = 0;
        while (added < maxLines && Position < length)
        {
            if (batch.ByteCount >= maxBytes)
            {
                return;
            }

            if (_oversizeStart >= 0)
            {
                if (!SkipOversize(handle, length, batch))
                {
                    return;
                }

                added++;
                continue;
            }

            // Read from Position into the buffer, growing it up to the line limit while no '\n' is found.
            var filled = 0;
            var newline = -1;
            while (true)
            {
                if (filled == _buffer.Length)
                {
                    if (_buffer.Length > _maxLineBytes)
                    {
                        break;
                    }

                    Grow(Math.Min(_buffer.Length * 2, _maxLineBytes + 1));
                }

                var read = RandomAccess.Read(handle, _buffer.AsSpan(filled), Position + filled);
                if (read == 0)
                {
                    break;
                }

                var found = _buffer.AsSpan(filled, read).IndexOf((byte)'\n');
                filled += read;
                if (found >= 0)
                {
                    newline = filled - read + found;
                    break;
                }
            }

            if (newline < 0)
            {
                if (filled > _maxLineBytes)
                {
                    // No '\n' within the limit: the line is too long; find its end without keeping it.
                    _oversizeStart = Position;
                    _oversizeScanned = Position + filled;
                    continue;
                }

                return; // a write in progress
            }

            // Hand out every complete line in the buffer.
            var span = _buffer.AsSpan(0, filled);
            var start = 0;
            while (added < maxLines && batch.ByteCount < maxBytes)
            {
                var index = span[start..].IndexOf((byte)'\n');
                if (index < 0)
                {
                    break;
                }

                var lineLength = index;
                if (lineLength > _maxLineBytes)
                {
                    batch.AddOversize(Position + start, Position + start + index + 1);
                }
                else
                {
                    batch.Add(Position + start, Position + start + index + 1, span.Slice(start, lineLength));
                }

                added++;
                start += index + 1;
            }

            Position += start;
        }
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
        _handle = null;
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private bool SkipOversize(SafeFileHandle handle, long length, LineBatch batch)
    {
        while (_oversizeScanned < length)
        {
            var read = RandomAccess.Read(handle, _buffer.AsSpan(0, Math.Min(_buffer.Length, ChunkSize)), _oversizeScanned);
            if (read == 0)
            {
                break;
            }

            var found = _buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (found >= 0)
            {
                var end = _oversizeScanned + found + 1;
                batch.AddOversize(_oversizeStart, end);
                Position = end;
                _oversizeStart = -1;
                return true;
            }

            _oversizeScanned += read;
        }

        return false;
    }

    private void Grow(int size)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.CopyTo(bigger, 0);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    private SafeFileHandle? Handle()
    {
        if (_handle is null)
        {
            try
            {
                // Never through a symlink, never blocking: a FIFO put there is refused like any non-regular file.
                _file = _queue.OpenFile(QueueDirectory.CommandsFile, FileMode.Open, FileAccess.Read);
                _handle = _file.SafeFileHandle;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        return _handle;
    }
}
