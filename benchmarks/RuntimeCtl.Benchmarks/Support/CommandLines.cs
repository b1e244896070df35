using System.Buffers.Text;
using System.Text;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// Command lines exactly as <c>runtimectl</c> and <see cref="CommandSender"/> write them (<c>CommandSender.Serialize</c>),
/// with ids that are unique per line: a UUID-shaped string whose last 12 digits are a counter.
/// </summary>
public sealed class CommandLines
{
    private const int DigitCount = 12;
    private readonly byte[] _template;
    private readonly int _digitsAt;
    private long _next;

    public CommandLines(string path = "noop", object?[]? args = null, long? atStep = null)
    {
        var ts = new DateTimeOffset(2025, 11, 29, 0, 0, 0, TimeSpan.Zero);
        _template = CommandSender.Serialize("00000000-0000-4000-8000-" + new string('0', DigitCount), ts, path, args ?? [], null, atStep);
        _digitsAt = Encoding.UTF8.GetString(_template).IndexOf("000000000000\"", StringComparison.Ordinal);
    }

    /// <summary>Gets the length of one line, with its newline.</summary>
    public int LineLength => _template.Length;

    /// <summary>Gets one line as text, without its newline.</summary>
    public string Sample => Encoding.UTF8.GetString(_template.AsSpan(0, _template.Length - 1));

    /// <summary>Writes the next <paramref name="count"/> lines into <paramref name="destination"/> (which must hold them).</summary>
    public int Fill(Span<byte> destination, int count)
    {
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            _template.CopyTo(destination[at..]);
            Utf8Formatter.TryFormat(_next++, destination.Slice(at + _digitsAt, DigitCount), out _, new System.Buffers.StandardFormat('D', DigitCount));
            at += _template.Length;
        }

        return at;
    }

    /// <summary>Returns the next <paramref name="count"/> lines as one block.</summary>
    public byte[] Block(int count)
    {
        var block = new byte[(long)count * _template.Length];
        Fill(block, count);
        return block;
    }
}
