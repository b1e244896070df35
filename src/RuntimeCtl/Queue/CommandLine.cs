using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RuntimeCtl;

/// <summary>
/// One line of <c>commands.jsonl</c>, parsed and checked for shape, before any control sees it. One forward pass of
/// <see cref="Utf8JsonReader"/> checks what a <see cref="JsonDocument"/> with duplicate keys refused would (and in the
/// same order, so the same message wins), then numbers beyond double and lone surrogates; the fields stay byte ranges
/// of the line, and args and kwargs become documents only if a control takes them.
/// </summary>
internal sealed class CommandLine : IDisposable
{
    private const string KeySurrogate = "a key contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
    private const string StringSurrogate = "a string contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
    private const int StackKeys = 32;
    private const int StackHash = 1024;

    private const int NoField = -1;
    private const int IdField = 0;
    private const int PathField = 1;
    private const int OpField = 2;
    private const int ArgsField = 3;
    private const int KwargsField = 4;
    private const int AtStepField = 5;
    private const int FieldCount = 6;

    private static readonly byte[] SetOp = "\"set\""u8.ToArray();

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        AllowTrailingCommas = JsonFormat.DocumentOptions.AllowTrailingCommas,
        CommentHandling = JsonFormat.DocumentOptions.CommentHandling,
        MaxDepth = JsonFormat.DocumentOptions.MaxDepth,
    };

    private Field _path;
    private Field _op;
    private Field _args;
    private Field _kwargs;
    private string? _pathText;
    private JsonDocument? _argsDocument;
    private JsonDocument? _kwargsDocument;

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
    public CommandValue? Path => Value(_path);

    /// <summary>Gets the command's <c>op</c>, or null when missing (which means <c>set</c>).</summary>
    public CommandValue? Op => Value(_op);

    /// <summary>Gets the command's <c>args</c>, or null when missing.</summary>
    public CommandValue? Args => Value(_args);

    /// <summary>Gets the command's <c>kwargs</c>, or null when missing.</summary>
    public CommandValue? Kwargs => Value(_kwargs);

    /// <summary>Gets the command's <c>at_step</c>, or null when missing.</summary>
    public long? AtStep { get; private set; }

    /// <summary>Gets whether the id came from the command (not generated).</summary>
    public bool HasOwnId { get; private set; }

    /// <summary>Gets the path as text for lookups, or null when it is not a string.</summary>
    public string? PathText => _pathText ??= Path is { ValueKind: JsonValueKind.String } p ? p.GetString() : null;

    /// <summary>Parses one line. The line keeps <paramref name="bytes"/>: they must outlive it.</summary>
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
        { ValueKind: JsonValueKind.String } op => op.ValueEquals("set"u8) ? "set" : op.GetString(), // the usual op, not allocated
        { } op => op.GetRawText(),
    };

    /// <summary>Gets the path as text for messages: a string as it is, null as <c>null</c>, anything else as its JSON.</summary>
    public string PathForMessage() => Path switch
    {
        null => "null",
        { ValueKind: JsonValueKind.String } => PathText!, // the lookup's string, allocated once
        { } p => p.GetRawText(),
    };

    /// <summary>Gets the positional arguments a control is given (none for a missing or empty list); only when args is a list.</summary>
    public JsonElement[] ArgumentValues()
    {
        if (_args.Kind != JsonValueKind.Array || _args.Count == 0)
        {
            return [];
        }

        _argsDocument ??= Args!.Value.Parse();
        var values = new JsonElement[_args.Count];
        var i = 0;
        foreach (var item in _argsDocument.RootElement.EnumerateArray())
        {
            values[i++] = item;
        }

        return values;
    }

    /// <summary>Gets the keyword arguments a control is given, or null when there are none; only when kwargs is an object.</summary>
    public Dictionary<string, JsonElement>? KeywordValues()
    {
        if (_kwargs.Kind != JsonValueKind.Object || _kwargs.Count == 0)
        {
            return null;
        }

        _kwargsDocument ??= Kwargs!.Value.Parse();
        var values = new Dictionary<string, JsonElement>(_kwargs.Count, StringComparer.Ordinal);
        foreach (var property in _kwargsDocument.RootElement.EnumerateObject())
        {
            values[property.Name] = property.Value;
        }

        return values;
    }

    /// <summary>Releases the documents of the arguments, if a control took them; their elements are unusable after.</summary>
    public void Dispose()
    {
        _argsDocument?.Dispose();
        _kwargsDocument?.Dispose();
    }

    /// <summary>
    /// The id of a line that has none: a UUID derived from the line's offset and bytes, so a restarted trainer
    /// gives the same line the same id (and a replaced file's different line at that offset another one).
    /// </summary>
    public static string DerivedId(long offset, ReadOnlySpan<byte> bytes)
    {
        // SHA-256 of the offset's 8 bytes then the line's, hashed in one call so that nothing is allocated.
        var length = 8 + bytes.Length;
        byte[]? rented = null;
        var input = length <= StackHash ? stackalloc byte[StackHash] : (rented = ArrayPool<byte>.Shared.Rent(length));
        Span<byte> hash = stackalloc byte[32];
        try
        {
            BitConverter.TryWriteBytes(input, offset);
            bytes.CopyTo(input[8..]);
            SHA256.HashData(input[..length], hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8: custom
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash[..16], bigEndian: true).ToString("D");
    }

    public static string Shorten(string text) => text.Length <= 120 ? text : string.Concat(text.AsSpan(0, 117), "...");

    internal static string FormatLimit(int bytes) => bytes % (1024 * 1024) == 0
        ? (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";

    private CommandValue? Value(Field field) =>
        field.Kind == JsonValueKind.Undefined ? null : new CommandValue(Bytes.Slice(field.Start, field.Length), field.Kind, field.Escaped);

    private void Check(ReadOnlyMemory<byte> bytes)
    {
        var span = bytes.Span;
        if (!Utf8.IsValid(span))
        {
            Invalid = "the line is not valid UTF-8";
            return;
        }

        var keys = new KeySet(stackalloc KeyRef[StackKeys]);
        try
        {
            var fields = new Fields();
            Invalid = Scan(span, ref keys, ref fields);
            if (Invalid is null)
            {
                Apply(span, ref fields);
            }
        }
        finally
        {
            keys.Dispose();
        }
    }

    /// <summary>
    /// Reads the whole line once, finding first what <see cref="JsonDocument.Parse(ReadOnlyMemory{byte}, JsonDocumentOptions)"/>
    /// throws for: bad JSON or too deep (where the reader throws), else a key twice in one object or a key with a lone
    /// surrogate (the document checks its objects once all is read, each object as it ends, its keys in order); then a
    /// non-object root; then the first number beyond double or string with a lone surrogate.
    /// </summary>
    private static string? Scan(ReadOnlySpan<byte> span, ref KeySet keys, ref Fields fields)
    {
        var reader = new Utf8JsonReader(span, ReaderOptions);
        string? keyProblem = null;
        string? problem = null;
        var root = JsonTokenType.None;
        var field = NoField; // the top-level field whose value is being read
        var start = 0;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                var depth = reader.CurrentDepth;
                if (root == JsonTokenType.None)
                {
                    root = token;
                }

                switch (token)
                {
                    case JsonTokenType.PropertyName:
                        keys.Add(ref reader);
                        if (depth == 1)
                        {
                            field = Identify(ref reader, ref keys);
                        }
                        else if (depth == 2 && field == KwargsField)
                        {
                            fields.Slots[KwargsField].Count++;
                        }

                        continue;
                    case JsonTokenType.StartObject:
                        keys.Open();
                        break;
                    case JsonTokenType.EndObject:
                        keyProblem ??= keys.Check(span);
                        keys.Close();
                        break;
                    case JsonTokenType.Number:
                        if (problem is null && !(reader.TryGetDouble(out var number) && double.IsFinite(number)))
                        {
                            problem = $"the number {Shorten(Encoding.UTF8.GetString(reader.ValueSpan))} is out of range (it overflows to infinity)";
                        }

                        break;
                    case JsonTokenType.String:
                        if (problem is null && reader.ValueIsEscaped && HasLoneSurrogate(reader.ValueSpan))
                        {
                            problem = StringSurrogate;
                        }

                        break;
                }

                if (field == NoField)
                {
                    continue;
                }

                if (depth == 1 && token is not (JsonTokenType.EndObject or JsonTokenType.EndArray))
                {
                    // The value of a top-level field begins.
                    start = (int)reader.TokenStartIndex;
                    ref var slot = ref fields.Slots[field];
                    slot.Kind = KindOf(token);
                    slot.Escaped = token == JsonTokenType.String && reader.ValueIsEscaped;
                    if (field == AtStepField && token == JsonTokenType.Number)
                    {
                        fields.AtStepIsInteger = reader.TryGetInt64(out fields.AtStep);
                    }
                }
                else if (depth == 2 && field == ArgsField && token is not (JsonTokenType.EndObject or JsonTokenType.EndArray))
                {
                    fields.Slots[ArgsField].Count++;
                }

                if (depth == 1 && token is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
                {
                    // The value ends: a scalar at once, a container at its end token.
                    ref var slot = ref fields.Slots[field];
                    slot.Start = start;
                    slot.Length = (int)reader.BytesConsumed - start;
                    field = NoField;
                }
            }
        }
        catch (JsonException e)
        {
            return e.Message.Contains("Duplicate", StringComparison.Ordinal)
                ? "a key appears twice, so the command is ambiguous: " + Shorten(e.Message)
                : "not valid JSON: " + Shorten(e.Message);
        }
        catch (InvalidOperationException)
        {
            // Unescaping a key with a lone surrogate; HasLoneSurrogate finds those first, this is the reader's own word.
            return KeySurrogate;
        }

        return keyProblem ?? (root != JsonTokenType.StartObject ? $"not a JSON object: it is {Kind(root)}" : problem);
    }

    /// <summary>Takes the fields of a checked line, as the original reads them: a bad at_step refused, a bad id refused over it.</summary>
    private void Apply(ReadOnlySpan<byte> span, ref Fields fields)
    {
        ref var atStep = ref fields.Slots[AtStepField];
        if (atStep.Kind == JsonValueKind.Number && fields.AtStepIsInteger)
        {
            AtStep = fields.AtStep;
        }
        else if (atStep.Kind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            Refusal = $"at_step must be an integer step number, got {Shorten(Encoding.UTF8.GetString(span.Slice(atStep.Start, atStep.Length)))}";
        }

        ref var id = ref fields.Slots[IdField];
        switch (id.Kind)
        {
            case JsonValueKind.String when id.Length > 2:
                Id = new CommandValue(Bytes.Slice(id.Start, id.Length), JsonValueKind.String, id.Escaped).GetString();
                HasOwnId = true;
                break;
            case JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.String:
                break; // missing, null or empty: keep the derived id, as the original keeps a generated one
            default:
                Refusal = $"command id must be a string, got {Kind(id.Kind)} {Shorten(Encoding.UTF8.GetString(span.Slice(id.Start, id.Length)))}";
                break;
        }

        _path = fields.Slots[PathField].Kind == JsonValueKind.Null ? default : fields.Slots[PathField];
        _op = fields.Slots[OpField];
        _args = fields.Slots[ArgsField];
        _kwargs = fields.Slots[KwargsField];
    }

    /// <summary>Which known top-level field the key just read names (compared unescaped, as a document's names are).</summary>
    private static int Identify(ref Utf8JsonReader reader, ref KeySet keys)
    {
        var name = reader.ValueIsEscaped ? keys.LastUnescaped : reader.ValueSpan;
        return name.Length switch
        {
            2 when name.SequenceEqual("id"u8) => IdField,
            2 when name.SequenceEqual("op"u8) => OpField,
            4 when name.SequenceEqual("path"u8) => PathField,
            4 when name.SequenceEqual("args"u8) => ArgsField,
            6 when name.SequenceEqual("kwargs"u8) => KwargsField,
            7 when name.SequenceEqual("at_step"u8) => AtStepField,
            _ => NoField,
        };
    }

    /// <summary>
    /// Whether an escaped string has a <c>\u</c> surrogate without its pair, which unescaping refuses: a high one not
    /// followed at once by a <c>\u</c> low one, or a low one first. (The reader checked the escapes' syntax.)
    /// </summary>
    internal static bool HasLoneSurrogate(ReadOnlySpan<byte> escaped)
    {
        var i = 0;
        while (escaped[i..].IndexOf((byte)'\\') is var next and >= 0)
        {
            i += next;
            if (escaped[i + 1] != (byte)'u')
            {
                i += 2;
                continue;
            }

            var scalar = Hex(escaped.Slice(i + 2, 4));
            i += 6;
            if (scalar is < 0xD800 or > 0xDFFF)
            {
                continue;
            }

            if (scalar >= 0xDC00 || i + 6 > escaped.Length || escaped[i] != (byte)'\\' || escaped[i + 1] != (byte)'u')
            {
                return true;
            }

            if (Hex(escaped.Slice(i + 2, 4)) is < 0xDC00 or > 0xDFFF)
            {
                return true;
            }

            i += 6;
        }

        return false;
    }

    private static int Hex(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var digit in digits)
        {
            value = (value << 4) | (digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10);
        }

        return value;
    }

    private static JsonValueKind KindOf(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => JsonValueKind.Object,
        JsonTokenType.StartArray => JsonValueKind.Array,
        JsonTokenType.String => JsonValueKind.String,
        JsonTokenType.Number => JsonValueKind.Number,
        JsonTokenType.True => JsonValueKind.True,
        JsonTokenType.False => JsonValueKind.False,
        JsonTokenType.Null => JsonValueKind.Null,
        _ => JsonValueKind.Undefined,
    };

    private static string Kind(JsonTokenType token) => Kind(KindOf(token));

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    /// <summary>A top-level field's value: its bytes in the line, its kind (undefined: missing), its item count if a container.</summary>
    private struct Field
    {
        public int Start;
        public int Length;
        public int Count;
        public JsonValueKind Kind;
        public bool Escaped;
    }

    /// <summary>The known fields met by the pass.</summary>
    [System.Runtime.CompilerServices.InlineArray(FieldCount)]
    private struct FieldArray
    {
        private Field _first;
    }

    private struct Fields
    {
        public FieldArray Slots;
        public long AtStep;
        public bool AtStepIsInteger;
    }

    /// <summary>
    /// A key in the line (<see cref="Start"/> at or above 0) or, unescaped, in the scratch buffer (<c>~Start</c>);
    /// a <see cref="Length"/> of -1 marks an escaped key with a lone surrogate, which cannot be unescaped.
    /// </summary>
    private readonly record struct KeyRef(int Start, int Length);

    /// <summary>
    /// The keys of the objects open at the reader's place, to find one named twice or one with a lone surrogate as a
    /// document does: names compared unescaped, each object checked as it ends. On the stack until a line has many keys.
    /// </summary>
    private ref struct KeySet
    {
        private Span<KeyRef> _keys;
        private KeyRef[]? _rentedKeys;
        private byte[]? _scratch;
        private int _scratchUsed;
        private int _count;
        private int _scopeStart;
        private int _depth;
        private ScopeStack _scopes;

        public KeySet(Span<KeyRef> keys)
        {
            _keys = keys;
        }

        /// <summary>Gets the unescaped name of the key added last, when it was escaped (empty if it cannot be unescaped).</summary>
        public readonly ReadOnlySpan<byte> LastUnescaped => _keys[_count - 1] is { Length: >= 0 } key ? Name(key, default) : default;

        public void Open()
        {
            _scopes[_depth++] = _scopeStart;
            _scopeStart = _count;
        }

        public void Close()
        {
            _count = _scopeStart;
            _scopeStart = _scopes[--_depth];
        }

        /// <summary>Adds the property name the reader is on (unescaped, if it is escaped).</summary>
        public void Add(ref Utf8JsonReader reader)
        {
            KeyRef key;
            if (!reader.ValueIsEscaped)
            {
                key = new KeyRef((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
            }
            else if (HasLoneSurrogate(reader.ValueSpan))
            {
                key = new KeyRef(0, -1);
            }
            else
            {
                var room = reader.ValueSpan.Length; // unescaping never lengthens
                if (_scratch is null || _scratch.Length - _scratchUsed < room)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Max(2 * (_scratchUsed + room), 256));
                    if (_scratch is not null)
                    {
                        _scratch.AsSpan(0, _scratchUsed).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(_scratch);
                    }

                    _scratch = larger;
                }

                var written = reader.CopyString(_scratch.AsSpan(_scratchUsed));
                key = new KeyRef(~_scratchUsed, written);
                _scratchUsed += written;
            }

            if (_count == _keys.Length)
            {
                var larger = ArrayPool<KeyRef>.Shared.Rent(_keys.Length * 2);
                _keys.CopyTo(larger);
                if (_rentedKeys is not null)
                {
                    ArrayPool<KeyRef>.Shared.Return(_rentedKeys);
                }

                _rentedKeys = larger;
                _keys = larger;
            }

            _keys[_count++] = key;
        }

        /// <summary>Checks the keys of the object that ends, in order: the first with a lone surrogate or named before.</summary>
        public readonly string? Check(ReadOnlySpan<byte> line)
        {
            for (var i = _scopeStart; i < _count; i++)
            {
                var key = _keys[i];
                if (key.Length < 0)
                {
                    return KeySurrogate;
                }

                var name = Name(key, line);
                for (var j = _scopeStart; j < i; j++)
                {
                    var other = _keys[j];
                    if (other.Length == name.Length && Name(other, line).SequenceEqual(name))
                    {
                        // The document's own message: the name cut at 15 characters.
                        var text = Encoding.UTF8.GetString(name);
                        var shown = text.Length <= 15 ? text : string.Concat(text.AsSpan(0, 15), "...");
                        return "a key appears twice, so the command is ambiguous: " + Shorten($"Duplicate property '{shown}' encountered during deserialization.");
                    }
                }
            }

            return null;
        }

        public readonly void Dispose()
        {
            if (_rentedKeys is not null)
            {
                ArrayPool<KeyRef>.Shared.Return(_rentedKeys);
            }

            if (_scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(_scratch);
            }
        }

        private readonly ReadOnlySpan<byte> Name(KeyRef key, ReadOnlySpan<byte> line) =>
            key.Start >= 0 ? line.Slice(key.Start, key.Length) : _scratch.AsSpan(~key.Start, key.Length);
    }

    /// <summary>Where each open object's keys begin in the key set; objects nest no deeper than the reader allows.</summary>
    [System.Runtime.CompilerServices.InlineArray(JsonFormat.MaxDepth + 1)]
    private struct ScopeStack
    {
        private int _first;
    }
}
