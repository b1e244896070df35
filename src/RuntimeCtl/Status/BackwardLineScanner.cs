using Microsoft.Win32.SafeHandles;

namespace RuntimeCtl;

/// <summary>
/// Finds the complete lines of a file from its end towards its start, reading backwards in blocks, without holding
/// more than one block. Bytes after the last <c>\n</c> (a write in progress) are not a line.
/// </summary>
internal sealed class BackwardLineScanner
{
    private const int BlockSize = 64 * 1024;

    private readonly SafeFileHandle _handle;
    private readonly byte[] _block = new byte[BlockSize];
    private readonly Queue<long> _newlines = new();
    private long _scanned;
    private long? _lineEnd;

    /// <summary>Starts a scan of the first <paramref name="length"/> bytes of <paramref name="handle"/>.</summary>
    public BackwardLineScanner(SafeFileHandle handle, long length)
    {
        _handle = handle;
        _scanned = length;
    }

    /// <summary>Gets the previous complete line: <paramref name="start"/> is its first byte, <paramref name="end"/> its <c>\n</c>.</summary>
    public bool TryPrevious(out long start, out long end)
    {
        while (true)
        {
            if (_newlines.TryDequeue(out var newline))
            {
                if (_lineEnd is { } lineEnd)
                {
                    start = newline + 1;
                    end = lineEnd;
                    _lineEnd = newline;
                    return true;
                }

                _lineEnd = newline;
                continue;
            }

            if (_scanned == 0)
            {
                if (_lineEnd is { } first && first >= 0)
                {
                    // The first line of the file has no '\n' before it.
                    start = 0;
                    end = first;
                    _lineEnd = -1;
                    return true;
                }

                start = end = 0;
                return false;
            }

            ReadPreviousBlock();
        }
    }

    private void ReadPreviousBlock()
    {
        var blockStart = Math.Max(0, _scanned - BlockSize);
        var span = _block.AsSpan(0, (int)(_scanned - blockStart));
        var filled = 0;
        while (filled < span.Length)
        {
            var read = RandomAccess.Read(_handle, span[filled..], blockStart + filled);
            if (read == 0)
            {
                // The file shrank under us: what is left is not there any more.
                span[filled..].Clear();
                break;
            }

            filled += read;
        }

        for (var i = span.Length; (i = span[..i].LastIndexOf((byte)'\n')) >= 0;)
        {
            _newlines.Enqueue(blockStart + i);
        }

        _scanned = blockStart;
    }
}
