using System.Buffers;
using System.Text;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// One value of a command line (its path, op, args or kwargs) as its JSON text in the line, checked but not parsed:
/// the few things the engine asks of it answered from the bytes, with what <see cref="JsonElement"/> would answer.
/// </summary>
internal readonly struct CommandValue
{
    private const int StackLimit = 256;

    private readonly ReadOnlyMemory<byte> _json;
    private readonly bool _escaped;

    /// <summary>Wraps a value's JSON text (a string with its quotes) that the line's parser checked.</summary>
    internal CommandValue(ReadOnlyMemory<byte> json, JsonValueKind kind, bool escaped)
    {
        _json = json;
        ValueKind = kind;
        _escaped = escaped;
    }

    /// <summary>Gets the kind of the value.</summary>
    public JsonValueKind ValueKind { get; }

    /// <summary>Gets the value's JSON text as the line has it.</summary>
    public ReadOnlyMemory<byte> Json => _json;

    /// <summary>The string's text between its quotes, escapes as written.</summary>
    private ReadOnlySpan<byte> Inner => _json.Span[1..^1];

    /// <summary>Gets the value's JSON text as the line has it (a string with its quotes and escapes).</summary>
    public string GetRawText() => Encoding.UTF8.GetString(_json.Span);

    /// <summary>Gets a string value's text, unescaped; only for <see cref="JsonValueKind.String"/>.</summary>
    public string GetString()
    {
        if (!_escaped)
        {
            return Encoding.UTF8.GetString(Inner);
        }

        var reader = new Utf8JsonReader(_json.Span);
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>Whether a string value's unescaped text is <paramref name="utf8"/>.</summary>
    public bool ValueEquals(ReadOnlySpan<byte> utf8)
    {
        if (!_escaped)
        {
            return Inner.SequenceEqual(utf8);
        }

        var reader = new Utf8JsonReader(_json.Span);
        reader.Read();
        return reader.ValueTextEquals(utf8);
    }

    /// <summary>Writes the value as <see cref="JsonElement.WriteTo"/> would: strings unescaped and escaped again by the writer, containers compact.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        switch (ValueKind)
        {
            case JsonValueKind.String when !_escaped:
                writer.WriteStringValue(Inner);
                break;
            case JsonValueKind.String:
                WriteEscapedString(writer);
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(_json.Span, skipInputValidation: true);
                break;
            case JsonValueKind.True or JsonValueKind.False:
                writer.WriteBooleanValue(ValueKind == JsonValueKind.True);
                break;
            case JsonValueKind.Null:
                writer.WriteNullValue();
                break;
            default:
                // An object or array where a path or op belongs: a rejected command, rare enough for a document.
                using (var document = Parse())
                {
                    document.RootElement.WriteTo(writer);
                }

                break;
        }
    }

    /// <summary>Parses the value into a document (the caller disposes it); the line's parser checked it already.</summary>
    public JsonDocument Parse() => JsonDocument.Parse(_json, JsonFormat.DocumentOptions);

    private void WriteEscapedString(Utf8JsonWriter writer)
    {
        var reader = new Utf8JsonReader(_json.Span);
        reader.Read();
        var length = reader.ValueSpan.Length; // unescaping never lengthens
        byte[]? rented = null;
        var buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = reader.CopyString(buffer);
            writer.WriteStringValue(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
