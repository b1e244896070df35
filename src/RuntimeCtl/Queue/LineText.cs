using System.Buffers;
using System.Text;

namespace RuntimeCtl;

/// <summary>The queue format's rule for the blank around a line (docs/queue-format.md, "Lines").</summary>
internal static class LineText
{
    /// <summary>
    /// Trims what Python's <c>str.strip()</c> trims, as the original reads a line: ASCII whitespace, the separators
    /// 0x1C-0x1F and Unicode white space (U+00A0, U+2028, the BOM is not white space and stays).
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
