using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// The positional and keyword arguments of one command, as JSON, for controls registered in the raw form.
/// Immutable; a validator returns a new instance (see <see cref="WithArgs"/>) whose values are echoed in the ack.
/// </summary>
public sealed class ControlArguments
{
    private static readonly Dictionary<string, JsonElement> NoKeywords = new(StringComparer.Ordinal);

    internal ControlArguments(IReadOnlyList<JsonElement> args, IReadOnlyDictionary<string, JsonElement> kwargs)
    {
        Args = args;
        Kwargs = kwargs;
    }

    /// <summary>Gets the positional arguments, in order.</summary>
    public IReadOnlyList<JsonElement> Args { get; }

    /// <summary>Gets the keyword arguments, in the order they were sent.</summary>
    public IReadOnlyDictionary<string, JsonElement> Kwargs { get; }

    /// <summary>
    /// Creates arguments from plain values: <see langword="null"/>, <see cref="bool"/>, numbers, <see cref="string"/>,
    /// <see cref="JsonElement"/>, and lists or string-keyed dictionaries of those.
    /// </summary>
    /// <param name="args">The positional arguments.</param>
    /// <param name="kwargs">The keyword arguments, or <see langword="null"/> for none.</param>
    /// <returns>The arguments.</returns>
    /// <exception cref="ArgumentException">A value is of an unsupported type or is a non-finite number.</exception>
    public static ControlArguments Create(IEnumerable<object?> args, IEnumerable<KeyValuePair<string, object?>>? kwargs = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var list = args.Select(JsonValues.ToElement).ToArray();
        if (kwargs is null)
        {
            return new ControlArguments(list, NoKeywords);
        }

        var dict = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (key, value) in kwargs)
        {
            dict[key] = JsonValues.ToElement(value);
        }

        return new ControlArguments(list, dict);
    }

    /// <summary>Returns a copy whose positional arguments are <paramref name="values"/>, keeping the keyword arguments.</summary>
    /// <param name="values">The new positional arguments (see <see cref="Create"/> for the supported types).</param>
    /// <returns>The new arguments.</returns>
    public ControlArguments WithArgs(params object?[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new ControlArguments(values.Select(JsonValues.ToElement).ToArray(), Kwargs);
    }

    /// <summary>Returns a copy whose keyword arguments are <paramref name="kwargs"/>, keeping the positional arguments.</summary>
    /// <param name="kwargs">The new keyword arguments.</param>
    /// <returns>The new arguments.</returns>
    public ControlArguments WithKwargs(IEnumerable<KeyValuePair<string, object?>> kwargs)
    {
        ArgumentNullException.ThrowIfNull(kwargs);
        var dict = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (key, value) in kwargs)
        {
            dict[key] = JsonValues.ToElement(value);
        }

        return new ControlArguments(Args, dict);
    }
}

/// <summary>Writes plain CLR values as JSON without reflection, so it is trimming- and AOT-safe.</summary>
internal static class JsonValues
{
    public static JsonElement ToElement(object? value)
    {
        if (value is JsonElement element)
        {
            return element;
        }

        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer, JsonFormat.WriterOptions))
        {
            Write(writer, value);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    public static void Write(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case double d:
                writer.WriteNumberValue(Finite(d));
                break;
            case float f:
                writer.WriteNumberValue(Finite(f));
                break;
            case decimal m:
                writer.WriteNumberValue(m);
                break;
            case int or long or short or sbyte or byte or ushort or uint:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                writer.WriteNumberValue(u);
                break;
            case Enum e:
                writer.WriteStringValue(e.ToString());
                break;
            case IDictionary dictionary:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    writer.WritePropertyName(Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? string.Empty);
                    Write(writer, entry.Value);
                }

                writer.WriteEndObject();
                break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                writer.WriteStartObject();
                foreach (var (key, item) in pairs)
                {
                    writer.WritePropertyName(key);
                    Write(writer, item);
                }

                writer.WriteEndObject();
                break;
            case IEnumerable items:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                throw new ArgumentException(
                    $"Cannot write a value of type {value.GetType().Name} as JSON; use null, bool, a number, a string, a JsonElement, or a list or dictionary of those.",
                    nameof(value));
        }
    }

    private static double Finite(double value) => double.IsFinite(value)
        ? value
        : throw new ArgumentException($"Cannot write the non-finite number {value.ToString(CultureInfo.InvariantCulture)} as JSON.", nameof(value));
}
