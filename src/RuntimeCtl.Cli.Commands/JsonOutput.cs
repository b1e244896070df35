using System.Buffers;
using System.Text;
using System.Text.Json;

namespace RuntimeCtl.Cli;

/// <summary>Writes JSON results: one compact line each, in the queue files' dialect, without reflection.</summary>
internal static class JsonOutput
{
    /// <summary>Writes the JSON value that <paramref name="write"/> produces as one line.</summary>
    public static void WriteLine(TextWriter output, Action<Utf8JsonWriter> write)
    {
        output.WriteLine(Line(write));
        output.Flush();
    }

    /// <summary>The JSON value that <paramref name="write"/> produces, as compact text.</summary>
    public static string Line(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonFormat.WriterOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes <paramref name="value"/> as compact JSON text.</summary>
    public static string ToText(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, JsonFormat.WriterOptions))
        {
            value.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
