using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Unicode;

namespace RuntimeCtl;

/// <summary>One line of <c>commands.jsonl</c>, parsed and checked for shape, before any control sees it.</summary>
internal sealed class CommandLine : IDisposable
{
    private static readonly byte[] SetOp = "\"set\""u8.ToArray();

    private JsonDocument? _document;

    private CommandLine()
    {
    }

    /// <summary>Gets the file offset of the line.</summary>
    public long Offset { get; private init; }

    /// <summary>Gets the line's bytes (trimmed), empty for an oversize line.</summary>
    public ReadOnlyMemory<byte> Bytes { get; private init; }

    /// <summary>Gets the command's id: the one it sent, or one derived from the line's place and bytes.</summary>
    public string Id { get; private set; } = string.Empty;

    /// <summary>Gets the reason the line is not a usable JSON object, or null.</summary>
    public string? Invalid { get; private set; }

    /// <summary>Gets the reason the command is refused before dispatch (bad id, bad at_step), or null.</summary>
    public string? Refusal { get; private set; }

    /// <summary>Gets the command's <c>path</c>, or null when missing or null.</summary>
    public JsonElement? Path { get; private set; }

    /// <summary>Gets the command's <c>op</c>, or null when missing (which means <c>set</c>).</summary>
    public JsonElement? Op { get; private set; }

    /// <summary>Gets the command's <c>args</c>, or null when missing.</summary>
    public JsonElement? Args { get; private set; }

    /// <summary>Gets the command's <c>kwargs</c>, or null when missing.</summary>
    public JsonElement? Kwargs { get; private set; }

    /// <summary>Gets the command's <c>at_step</c>, or null when missing.</summary>
    public long? AtStep { get; private set; }

    /// <summary>Gets whether the id came from the command (not generated).</summary>
    public bool HasOwnId { get; private set; }

    /// <summary>Gets the path as text for lookups, or null when it is not a string.</summary>
    public string? PathText => Path is { ValueKind: JsonValueKind.String } p ? p.GetString() : null;

    /// <summary>Parses one line. The document keeps <paramref name="bytes"/>: they must outlive the returned line.</summary>
    public static CommandLine Parse(long offset, ReadOnlyMemory<byte> bytes)
    {
        var line = new CommandLine { Offset = offset, Bytes = bytes };
        line.Check(bytes);
        if (!line.HasOwnId)
        {
            line.Id = DerivedId(offset, bytes.Span);
        }

        return line;
    }

    /// <summary>A line longer than the limit: rejected by its place alone, its bytes never held.</summary>
    public static CommandLine Oversize(long offset, long end, int limit)
    {
        Span<byte> place = stackalloc byte[8];
        BitConverter.TryWriteBytes(place, end);
        return new CommandLine
        {
            Offset = offset,
            Id = DerivedId(offset, place),
            Invalid = $"the line is {end - offset - 1} bytes long, over the limit of {FormatLimit(limit)}",
        };
    }

    private void Check(ReadOnlyMemory<byte> bytes)
    {
        var line = this;
        if (!Utf8.IsValid(bytes.Span))
        {
            line.Invalid = "the line is not valid UTF-8";
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, JsonFormat.DocumentOptions);
        }
        catch (JsonException e)
        {
            // With duplicate keys refused, an object that names a key twice is ambiguous: which value would apply?
            line.Invalid = e.Message.Contains("Duplicate", StringComparison.Ordinal)
                ? "a key appears twice, so the command is ambiguous: " + Shorten(e.Message)
                : "not valid JSON: " + Shorten(e.Message);
            return;
        }
        catch (InvalidOperationException)
        {
            // The duplicate-key check decodes every key, and a key with a lone surrogate cannot be decoded.
            line.Invalid = "a key contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
            return;
        }

        line._document = document;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            line.Invalid = $"not a JSON object: it is {Kind(root)}";
            return;
        }

        if (FindProblem(root, 0) is { } problem)
        {
            line.Invalid = problem;
            return;
        }

        JsonElement? id = null;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "id": id = property.Value; break;
                case "path": line.Path = property.Value.ValueKind == JsonValueKind.Null ? null : property.Value; break;
                case "op": line.Op = property.Value; break;
                case "args": line.Args = property.Value; break;
                case "kwargs": line.Kwargs = property.Value; break;
                case "at_step":
                    if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out var atStep))
                    {
                        line.AtStep = atStep;
                    }
                    else if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        line.Refusal = $"at_step must be an integer step number, got {Shorten(property.Value.GetRawText())}";
                    }

                    break;
            }
        }

        switch (id?.ValueKind)
        {
            case JsonValueKind.String when id.Value.GetString() is { Length: > 0 } text:
                line.Id = text;
                line.HasOwnId = true;
                break;
            case null or JsonValueKind.Null or JsonValueKind.String:
                break; // missing, null or empty: keep the derived id, as the original keeps a generated one
            default:
                line.Refusal = $"command id must be a string, got {Kind(id.Value)} {Shorten(id.Value.GetRawText())}";
                break;
        }
    }

    /// <summary>Writes the op as the command had it (<c>"set"</c> when missing).</summary>
    public void WriteOp(Utf8JsonWriter writer)
    {
        if (Op is { } op)
        {
            op.WriteTo(writer);
        }
        else
        {
            writer.WriteRawValue(SetOp, skipInputValidation: true);
        }
    }

    /// <summary>Gets the op as text for messages: a string as it is, anything else as its JSON.</summary>
    public string OpText() => Op switch
    {
        null => "set",
        { ValueKind: JsonValueKind.String } op => op.GetString()!,
        { } op => op.GetRawText(),
    };

    /// <summary>Gets the path as text for messages: a string as it is, null as <c>null</c>, anything else as its JSON.</summary>
    public string PathForMessage() => Path switch
    {
        null => "null",
        { ValueKind: JsonValueKind.String } p => p.GetString()!,
        { } p => p.GetRawText(),
    };

    public void Dispose() => _document?.Dispose();

    /// <summary>
    /// The id of a line that has none: a UUID derived from the line's offset and bytes, so a restarted trainer
    /// gives the same line the same id (and a replaced file's different line at that offset another one).
    /// </summary>
    public static string DerivedId(long offset, ReadOnlySpan<byte> bytes)
    {
        Span<byte> hash = stackalloc byte[32];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> prefix = stackalloc byte[8];
        BitConverter.TryWriteBytes(prefix, offset);
        sha.AppendData(prefix);
        sha.AppendData(bytes);
        sha.GetHashAndReset(hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8: custom
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash[..16], bigEndian: true).ToString("D");
    }

    public static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    public static string Shorten(string text) => text.Length <= 120 ? text : string.Concat(text.AsSpan(0, 117), "...");

    /// <summary>Finds what the original would have written back broken: numbers beyond double, lone surrogates.</summary>
    internal static string? FindProblem(JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsValidText(property))
                    {
                        return "a key contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
                    }

                    if (FindProblem(property.Value, depth + 1) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (FindProblem(item, depth + 1) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Number:
                return element.TryGetDouble(out var value) && double.IsFinite(value)
                    ? null
                    : $"the number {Shorten(element.GetRawText())} is out of range (it overflows to infinity)";
            case JsonValueKind.String:
                try
                {
                    _ = element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return "a string contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
                }

            default:
                return null;
        }
    }

    private static bool IsValidText(JsonProperty property)
    {
        try
        {
            _ = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    internal static string FormatLimit(int bytes) => bytes % (1024 * 1024) == 0
        ? (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";
}
