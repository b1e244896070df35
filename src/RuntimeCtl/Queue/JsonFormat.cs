using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// The one JSON dialect of the queue files (docs/queue-format.md): compact, UTF-8, non-ASCII text written as it is, no
/// comments, trailing commas or duplicate keys, nesting at most 64 deep; times as seconds since the Unix epoch.
/// </summary>
public static class JsonFormat
{
    /// <summary>Nesting deeper than this is refused; a real command needs a handful of levels.</summary>
    internal const int MaxDepth = 64;

    /// <summary>Gets the options that write the queue files' dialect: compact, non-ASCII text as it is.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new()
    {
        // Keep non-ASCII text as it was sent (docs/queue-format.md, "A command"); the files are UTF-8.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = false,
    };

    /// <summary>Gets the options that read the queue files' dialect: no comments, trailing commas or duplicate keys, nesting at most 64 deep.</summary>
    public static JsonDocumentOptions DocumentOptions { get; } = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = false,
    };

    /// <summary>
    /// Writes <paramref name="time"/> as the queue files write a time (<c>ts</c>, <c>last_poll_ts</c>): seconds since the
    /// Unix epoch, always with a fraction, as Python's <c>time.time()</c> prints it.
    /// </summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="time">The time.</param>
    public static void WriteTimestamp(Utf8JsonWriter writer, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> text = stackalloc byte[32];
        if (UnixSeconds(time).TryFormat(text, out var written, "R", CultureInfo.InvariantCulture) && text[..written].IndexOfAny(".eE"u8) < 0)
        {
            ".0"u8.CopyTo(text[written..]);
            written += 2;
        }

        writer.WriteRawValue(text[..written], skipInputValidation: true);
    }

    /// <summary>Gets <paramref name="time"/> as seconds since the Unix epoch, the number a queue file's time is.</summary>
    public static double UnixSeconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;

    /// <summary>Gets the time a queue file's number of seconds since the Unix epoch stands for, or <see langword="null"/> when it is no time (not finite, before the epoch or after the year 9999).</summary>
    public static DateTimeOffset? FromUnixSeconds(double seconds)
    {
        var range = DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch;
        return double.IsFinite(seconds) && seconds >= 0 && seconds < range.TotalSeconds
            ? DateTimeOffset.UnixEpoch.AddTicks((long)Math.Min(seconds * TimeSpan.TicksPerSecond, range.Ticks))
            : null;
    }

    /// <summary>Writes a line that is JSON already (an ack, a command, as read from the queue files), or <c>null</c> for none.</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="json">The JSON text, written without being checked again, or <see langword="null"/>.</param>
    public static void WriteRawOrNull(Utf8JsonWriter writer, string? json)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (json is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteRawValue(json, skipInputValidation: true);
        }
    }
}
