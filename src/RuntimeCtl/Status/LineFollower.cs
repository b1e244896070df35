using System.Buffers;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace RuntimeCtl;

/// <summary>Looks at one line a <see cref="LineFollower"/> read, trimmed by <see cref="LineText"/>; returns whether to stop after it.</summary>
internal delegate bool LineVisitor(ReadOnlySpan<byte> line);

/// <summary>
/// Reads the complete lines appended to a queue file since the last look (a <c>tail -F</c>), cut as the trainer cuts
/// them (<see cref="LineText"/>): a partial last line waits for its newline, a blank line is none, a line longer than
/// <see cref="LineText.MaxReadBytes"/> is skipped, and a file that shrank (replaced or rotated by a restarted trainer)
/// is read again from its start. The file is reopened at each look; a missing or unreadable one has no lines yet.
/// </summary>
public sealed class LineFollower
{
    private const int BlockSize = 64 * 1024;

    private readonly string _path;
    private long _offset;
    private bool _skipping;

    /// <summary>Follows <paramref name="path"/> from <paramref name="offset"/>.</summary>
    public LineFollower(string path, long offset)
    {
        _path = path;
        _offset = offset;
    }

    /// <summary>Gets the offset up to which every line has been read (a partial last line is not).</summary>
    public long Offset => _offset;

    /// <summary>Follows <paramref name="path"/> from its current end: only lines written from now on are read.</summary>
    public static LineFollower FromEnd(string path) => new(path, LengthOf(path));

    /// <summary>Gets the length of <paramref name="path"/>, or 0 when it is missing or unreadable.</summary>
    internal static long LengthOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.Length : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Returns the lines written since the last look, without the blank around them.</summary>
    public IReadOnlyList<string> ReadAppended()
    {
        var lines = new List<string>();
        Read(line =>
        {
            lines.Add(Encoding.UTF8.GetString(line));
            return false;
        });
        return lines;
    }

    /// <summary>Hands the lines written since the last look to <paramref name="visit"/>, until it asks to stop; the offset is then just after that line.</summary>
    internal void Read(LineVisitor visit)
    {
        SafeFileHandle handle;
        try
        {
            handle = NativeFile.OpenRead(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        var block = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            using (handle)
            {
                Read(handle, block, visit);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable for now: the lines before stay read, the next look goes on from there.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private void Read(SafeFileHandle handle, byte[] block, LineVisitor visit)
    {
        var length = RandomAccess.GetLength(handle);
        if (length < _offset)
        {
            // Truncated or replaced: what is there now is new.
            _offset = 0;
            _skipping = false;
        }

        // The start of a line longer than one block, kept until its newline comes (or it is too long to be read).
        var carry = new ArrayBufferWriter<byte>();
        var position = _offset;
        while (position < length)
        {
            var read = RandomAccess.Read(handle, block.AsSpan(0, (int)Math.Min(BlockSize, length - position)), position);
            if (read == 0)
            {
                break;
            }

            var data = block.AsSpan(0, read);
            var dataStart = position;
            position += read;
            int newline;
            while ((newline = data.IndexOf((byte)'\n')) >= 0)
            {
                var stop = false;
                if (_skipping || carry.WrittenCount + newline > LineText.MaxReadBytes)
                {
                    _skipping = false; // the end of a line too long to be read
                }
                else if (carry.WrittenCount > 0)
                {
                    carry.Write(data[..newline]);
                    stop = Visit(carry.WrittenSpan, _offset, visit);
                }
                else
                {
                    stop = Visit(data[..newline], _offset, visit);
                }

                carry.Clear();
                dataStart += newline + 1;
                _offset = dataStart;
                if (stop)
                {
                    return;
                }

                data = data[(newline + 1)..];
            }

            if (_skipping || carry.WrittenCount + data.Length > LineText.MaxReadBytes)
            {
                // Never held: the line is passed over up to its newline, in this look and the next ones.
                _skipping = true;
                carry.Clear();
                _offset = position;
            }
            else
            {
                carry.Write(data);
            }
        }
    }

    private static bool Visit(ReadOnlySpan<byte> line, long lineStart, LineVisitor visit)
    {
        var trimmed = LineText.Trim(line, lineStart);
        return !trimmed.IsEmpty && visit(trimmed);
    }
}
