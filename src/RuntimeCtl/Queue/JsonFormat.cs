using System.Text.Encodings.Web;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>The one JSON dialect of the queue files: compact, UTF-8, non-ASCII text written as it is.</summary>
internal static class JsonFormat
{
    /// <summary>Nesting deeper than this is refused; a real command needs a handful of levels.</summary>
    public const int MaxDepth = 64;

    public static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keep non-ASCII text as it was sent (docs/queue-format.md, "A command"); the files are UTF-8.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = false,
    };

    public static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = false,
    };

    /// <summary>Writes a line that is JSON already (an ack, a command, as read from the queue files), or <c>null</c> for none.</summary>
    public static void WriteRawOrNull(Utf8JsonWriter writer, string? json)
    {
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
