using System.Text;

namespace RuntimeCtl.Cli;

/// <summary>
/// Reads the complete lines appended to a file since the last look (a <c>tail -F</c>): a partial last line waits for
/// its newline, and a file that shrank (replaced or rotated) is read again from its start.
/// </summary>
internal sealed class LineFollower
{
    /// <summary>A line longer than this is skipped: no queue or metrics line is that long.</summary>
    public const int MaxLineBytes = 1024 * 1024;

    private readonly string _path;
    private long _offset;
    private bool _skipping;

    /// <summary>Follows <paramref name="path"/> from <paramref name="offset"/>.</summary>
    public LineFollower(string path, long offset)
    {
        _path = path;
        _offset = offset;
    }

    /// <summary>Follows <paramref name="path"/> from its current end: only lines written from now on are read.</summary>
    public static LineFollower FromEnd(string path) => new(path, AckFollower.LengthOf(path));

    /// <summary>Gets the offset up to which complete lines have been read.</summary>
    public long Offset => _offset;

    /// <summary>Returns the complete, non-blank lines written since the last call (none when the file is missing).</summary>
    public IReadOnlyList<string> ReadNew()
    {
        var lines = new List<string>();
        try
        {
            using var handle = NativeFile.OpenRead(_path);
            var length = RandomAccess.GetLength(handle);
            if (length < _offset)
            {
                _offset = 0;
            }

            // Blocks grow until they hold a whole line (up to MaxLineBytes), so a long line never stalls the stream.
            var size = 256 * 1024;
            while (_offset < length)
            {
                var block = new byte[(int)Math.Min(length - _offset, size)];
                var read = RandomAccess.Read(handle, block, _offset);
                if (read <= 0)
                {
                    break;
                }

                var last = Array.LastIndexOf(block, (byte)'\n', read - 1);
                if (last < 0)
                {
                    if (read < block.Length || _offset + read >= length)
                    {
                        if (_skipping || read > MaxLineBytes)
                        {
                            _skipping = true; // a line too long to be real: skip it to its end
                            _offset += read;
                        }

                        break; // a line still being written
                    }

                    if (_skipping || size > MaxLineBytes)
                    {
                        _skipping = true;
                        _offset += read;
                        continue;
                    }

                    size *= 2;
                    continue;
                }

                var text = Encoding.UTF8.GetString(block, 0, last);
                var first = true;
                foreach (var line in text.Split('\n'))
                {
                    if (first && _skipping)
                    {
                        first = false;
                        _skipping = false; // the end of the line that was too long
                        continue;
                    }

                    first = false;
                    if (!string.IsNullOrWhiteSpace(line))
                    {
                        lines.Add(line.TrimEnd('\r'));
                    }
                }

                _offset += last + 1;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Missing or unreadable for now: the next look tries again.
        }

        return lines;
    }
}
