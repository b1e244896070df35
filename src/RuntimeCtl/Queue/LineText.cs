using System.Buffers;
using System.Text;

namespace RuntimeCtl;

/// <summary>
/// The queue format's rule for a line of <c>commands.jsonl</c> and <c>acks.jsonl</c> alike (docs/queue-format.md,
/// "Lines"): a UTF-8 BOM at the start of the file is not part of the first line, the blank around a line is not part of
/// it, and a line left empty is no line. The trainer and every reader (status, history, a follower, a wait) cut lines
/// with it, so a line one of them takes for a command or an ack is one for all of them.
/// </summary>
internal static class LineText
{
    /// <summary>A line longer than this is not read by a reader of the queue files (a tail counts it as bad, a follower skips it); a real ack or command is far shorter.</summary>
    public const int MaxReadBytes = 16 * 1024 * 1024;

    /// <summary>Gets the UTF-8 byte order mark: skipped as the first three bytes of a queue file (some editors write one), part of the line anywhere else.</summary>
    public static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    /// <summary>Trims the line that starts at byte <paramref name="lineStart"/> of its file: its BOM if it is the file's first line, then as <see cref="Trim(ReadOnlySpan{byte})"/>.</summary>
    /// <param name="line">The line's bytes (UTF-8), with or without its newline.</param>
    /// <param name="lineStart">The offset of the line's first byte in its file.</param>
    /// <returns>The bytes between the leading and the trailing blank; empty for a blank line.</returns>
    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> line, long lineStart) =>
        Trim(lineStart == 0 && line.StartsWith(ByteOrderMark) ? line[ByteOrderMark.Length..] : line);

    /// <summary>
    /// Trims what Python's <c>str.strip()</c> trims, as the original reads a line: ASCII whitespace, the separators
    /// 0x1C-0x1F and Unicode white space (U+00A0, U+2028; the BOM is not white space and stays). For a line whose file's
    /// BOM was skipped already (the trainer's reader starts after it).
    /// </summary>
    /// <param name="line">The line's bytes (UTF-8), with or without its newline.</param>
    /// <returns>The bytes between the leading and the trailing blank; empty for a blank line.</returns>
    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> line)
    {
        while (!line.IsEmpty)
        {
            if (IsAsciiBlank(line[0]))
            {
                line = line[1..];
            }
            else if (line[0] >= 0x80 && Rune.DecodeFromUtf8(line, out var rune, out var used) == OperationStatus.Done && Rune.IsWhiteSpace(rune))
            {
                line = line[used..];
            }
            else
            {
                break;
            }
        }

        while (!line.IsEmpty)
        {
            if (IsAsciiBlank(line[^1]))
            {
                line = line[..^1];
            }
            else if (line[^1] >= 0x80 && Rune.DecodeLastFromUtf8(line, out var rune, out var used) == OperationStatus.Done && Rune.IsWhiteSpace(rune))
            {
                line = line[..^used];
            }
            else
            {
                break;
            }
        }

        return line;
    }

    /// <summary>Gets where <paramref name="part"/> (a slice of <paramref name="whole"/>) starts in it.</summary>
    public static int OffsetIn(ReadOnlySpan<byte> whole, ReadOnlySpan<byte> part) =>
        (int)System.Runtime.CompilerServices.Unsafe.ByteOffset(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(whole),
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(part));

    private static bool IsAsciiBlank(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0x0B or 0x0C or 0x1C or 0x1D or 0x1E or 0x1F;
}
