using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace RuntimeCtl.Tests.Queue.Oracle;

/// <summary>What a parser decided about one command line, in a form two parsers can be compared by.</summary>
/// <param name="Invalid">The reason the line is not a usable JSON object, or null.</param>
/// <param name="Refusal">The reason the command is refused before dispatch, or null.</param>
/// <param name="Id">The command's id (sent or derived).</param>
/// <param name="HasOwnId">Whether the id was sent.</param>
/// <param name="AtStep">The command's at_step.</param>
/// <param name="Path">The path's raw JSON, or null.</param>
/// <param name="Op">The op's raw JSON, or null.</param>
/// <param name="Args">The args' raw JSON, or null.</param>
/// <param name="Kwargs">The kwargs' raw JSON, or null.</param>
/// <param name="PathText">The path as a lookup key, or null.</param>
/// <param name="PathForMessage">The path as messages show it.</param>
/// <param name="OpText">The op as messages show it.</param>
/// <param name="Echo">The path and op as the ack writes them.</param>
/// <param name="Arguments">What a control is given: each positional argument's and each keyword argument's raw JSON.</param>
internal sealed record ParsedCommand(
    string? Invalid,
    string? Refusal,
    string Id,
    bool HasOwnId,
    long? AtStep,
    string? Path,
    string? Op,
    string? Args,
    string? Kwargs,
    string? PathText,
    string PathForMessage,
    string OpText,
    string Echo,
    string Arguments);

/// <summary>
/// THE PREVIOUS IMPLEMENTATION of <c>CommandLine.Parse</c> (a <see cref="JsonDocument"/> per line, then a walk of the
/// DOM), kept in the tests only as the oracle the single-pass parser is checked against: for every line both must
/// decide the same. It is self-contained on purpose (its own options, its own helpers), so a change in src cannot
/// change the oracle. Do not "fix" it: it defines the behaviour.
/// </summary>
internal static class DocumentCommandParser
{
    private const int MaxDepth = 64;

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = false,
    };

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = false,
    };

    public static ParsedCommand Parse(long offset, ReadOnlyMemory<byte> bytes)
    {
        var line = new Line();
        line.Check(bytes);
        if (!line.HasOwnId)
        {
            line.Id = DerivedId(offset, bytes.Span);
        }

        try
        {
            return new ParsedCommand(
                line.Invalid,
                line.Refusal,
                line.Id,
                line.HasOwnId,
                line.AtStep,
                line.Path?.GetRawText(),
                line.Op?.GetRawText(),
                line.Args?.GetRawText(),
                line.Kwargs?.GetRawText(),
                line.PathText,
                line.PathForMessage(),
                line.OpText(),
                line.Echo(),
                line.Arguments());
        }
        finally
        {
            line.Document?.Dispose();
        }
    }

    /// <summary>The same decision as a command-line parser would give for an ack's path/op echo: <c>{"path":..,"op":..}</c>.</summary>
    public static string WriteEcho(Action<Utf8JsonWriter> path, Action<Utf8JsonWriter> op)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("path"u8);
            path(writer);
            writer.WritePropertyName("op"u8);
            op(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Positional and keyword arguments as a control receives them, one raw JSON text each.</summary>
    public static string DescribeArguments(IEnumerable<JsonElement>? args, IEnumerable<KeyValuePair<string, JsonElement>>? kwargs) =>
        "args: " + (args is null ? "none" : string.Join(" | ", args.Select(a => a.GetRawText())))
        + "; kwargs: " + (kwargs is null ? "none" : string.Join(" | ", kwargs.Select(k => k.Key + "=" + k.Value.GetRawText())));

    private sealed class Line
    {
        private static readonly byte[] SetOp = "\"set\""u8.ToArray();

        public JsonDocument? Document { get; private set; }

        public string Id { get; set; } = string.Empty;

        public string? Invalid { get; private set; }

        public string? Refusal { get; private set; }

        public JsonElement? Path { get; private set; }

        public JsonElement? Op { get; private set; }

        public JsonElement? Args { get; private set; }

        public JsonElement? Kwargs { get; private set; }

        public long? AtStep { get; private set; }

        public bool HasOwnId { get; private set; }

        public string? PathText => Path is { ValueKind: JsonValueKind.String } p ? p.GetString() : null;

        public void Check(ReadOnlyMemory<byte> bytes)
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
                document = JsonDocument.Parse(bytes, DocumentOptions);
            }
            catch (JsonException e)
            {
                line.Invalid = e.Message.Contains("Duplicate", StringComparison.Ordinal)
                    ? "a key appears twice, so the command is ambiguous: " + Shorten(e.Message)
                    : "not valid JSON: " + Shorten(e.Message);
                return;
            }
            catch (InvalidOperationException)
            {
                line.Invalid = "a key contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
                return;
            }

            line.Document = document;
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
                    break;
                default:
                    line.Refusal = $"command id must be a string, got {Kind(id.Value)} {Shorten(id.Value.GetRawText())}";
                    break;
            }
        }

        public string OpText() => Op switch
        {
            null => "set",
            { ValueKind: JsonValueKind.String } op => op.GetString()!,
            { } op => op.GetRawText(),
        };

        public string PathForMessage() => Path switch
        {
            null => "null",
            { ValueKind: JsonValueKind.String } p => p.GetString()!,
            { } p => p.GetRawText(),
        };

        /// <summary>The ack's path and op, written as the engine wrote them from this parser's elements.</summary>
        public string Echo() => WriteEcho(
            writer =>
            {
                if (Path is { } path)
                {
                    path.WriteTo(writer);
                }
                else
                {
                    writer.WriteNullValue();
                }
            },
            writer =>
            {
                if (Op is { } op)
                {
                    op.WriteTo(writer);
                }
                else
                {
                    writer.WriteRawValue(SetOp, skipInputValidation: true);
                }
            });

        /// <summary>The arguments as the executor handed them to a control (only when args is a list and kwargs an object).</summary>
        public string Arguments() =>
            Args is { ValueKind: not JsonValueKind.Array } || Kwargs is { ValueKind: not JsonValueKind.Object }
                ? "not bound"
                : DescribeArguments(Args?.EnumerateArray(), Kwargs?.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value)));
    }

    private static string DerivedId(long offset, ReadOnlySpan<byte> bytes)
    {
        Span<byte> hash = stackalloc byte[32];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> prefix = stackalloc byte[8];
        BitConverter.TryWriteBytes(prefix, offset);
        sha.AppendData(prefix);
        sha.AppendData(bytes);
        sha.GetHashAndReset(hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true).ToString("D");
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    private static string Shorten(string text) => text.Length <= 120 ? text : string.Concat(text.AsSpan(0, 117), "...");

    private static string? FindProblem(JsonElement element, int depth)
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
}
