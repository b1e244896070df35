using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace RuntimeCtl;

/// <summary>The number of lines in a queue file, and the length it had when they were counted.</summary>
/// <param name="Lines">The number of complete (<c>\n</c>-terminated) lines.</param>
/// <param name="Length">The file's length in bytes when counted; 0 for a missing file.</param>
/// <param name="FromController">Whether the count started from the figures in <c>controller.json</c> instead of the file's start.</param>
public readonly record struct LineCount(long Lines, long Length, bool FromController);

/// <summary>Counts the lines of the queue files: vectorised newline counting over large blocks, from an offset whose count is known.</summary>
internal static class LineCounter
{
    /// <summary>The read size; large enough that a count is bound by the vectorised scan, not by system calls.</summary>
    public const int BlockSize = 256 * 1024;

    /// <summary>
    /// Counts the complete lines of <paramref name="path"/>. When <paramref name="knownLines"/> lines are known to end
    /// exactly at <paramref name="knownBytes"/> (the trainer's figures in <c>controller.json</c>) and the file still
    /// agrees (it is at least that long and has a <c>\n</c> just before that offset), only the bytes after it are
    /// scanned; otherwise the whole file is. A missing file has no lines.
    /// </summary>
    public static LineCount Count(string path, long? knownLines = null, long? knownBytes = null)
    {
        SafeFileHandle handle;
        try
        {
            handle = NativeFile.OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new LineCount(0, 0, false);
        }

        using (handle)
        {
            var length = RandomAccess.GetLength(handle);
            if (knownLines is { } lines && knownBytes is { } bytes && Agrees(handle, length, lines, bytes))
            {
                return new LineCount(lines + CountNewlines(handle, bytes, length), length, true);
            }

            return new LineCount(CountNewlines(handle, 0, length), length, false);
        }
    }

    /// <summary>Counts the <c>\n</c> bytes in <c>[start, end)</c> of an open file.</summary>
    public static long CountNewlines(SafeFileHandle handle, long start, long end)
    {
        if (end <= start)
        {
            return 0;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(BlockSize, end - start));
        try
        {
            long count = 0;
            for (var offset = start; offset < end;)
            {
                var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - offset)), offset);
                if (read == 0)
                {
                    break;
                }

                // MemoryExtensions.Count is vectorised for bytes (AVX2/AVX-512 or NEON where present).
                count += buffer.AsSpan(0, read).Count((byte)'\n');
                offset += read;
            }

            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool Agrees(SafeFileHandle handle, long length, long lines, long bytes)
    {
        if (lines < 0 || bytes < 0 || bytes > length || (bytes == 0 && lines != 0) || lines > bytes)
        {
            return false;
        }

        if (bytes == 0)
        {
            return true;
        }

        // The trainer's figures always end on a line end; a file replaced by another one rarely has '\n' just there.
        Span<byte> last = stackalloc byte[1];
        return RandomAccess.Read(handle, last, bytes - 1) == 1 && last[0] == (byte)'\n';
    }
}
