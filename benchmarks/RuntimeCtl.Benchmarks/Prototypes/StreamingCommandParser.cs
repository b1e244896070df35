using System.Buffers.Text;
using System.Text.Json;

namespace RuntimeCtl.Benchmarks.Prototypes;

/// <summary>The fields of one command line as byte ranges of the line: nothing allocated, nothing kept.</summary>
public readonly record struct ParsedCommand(Range Id, Range Path, Range Op, Range Args, Range Kwargs, long? AtStep, string? Invalid);

/// <summary>
/// PROTOTYPE, not the core's parser: one forward pass of <see cref="Utf8JsonReader"/> over a command line that finds
/// the known fields and checks what <c>CommandLine.Check</c> checks (valid JSON and UTF-8, an object, top-level keys
/// not repeated, numbers finite, no lone surrogates), without a <see cref="JsonDocument"/>. It leaves out what a real
/// replacement must add: duplicate keys inside nested objects, the exact error texts, and the id's own string.
/// </summary>
public static class StreamingCommandParser
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false };

    public static ParsedCommand Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line, Options);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Invalid("not a JSON object");
            }

            Range id = default, path = default, op = default, args = default, kwargs = default;
            long? atStep = null;
            var seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueTextEquals("id"u8) ? 1
                    : reader.ValueTextEquals("path"u8) ? 2
                    : reader.ValueTextEquals("op"u8) ? 4
                    : reader.ValueTextEquals("args"u8) ? 8
                    : reader.ValueTextEquals("kwargs"u8) ? 16
                    : reader.ValueTextEquals("at_step"u8) ? 32
                    : 0;
                if ((seen & field) != 0)
                {
                    return Invalid("duplicate key");
                }

                seen |= field;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                if (!CheckValue(ref reader))
                {
                    return Invalid("bad value");
                }

                var value = new Range(start, (int)reader.BytesConsumed);
                switch (field)
                {
                    case 1: id = value; break;
                    case 2: path = value; break;
                    case 4: op = value; break;
                    case 8: args = value; break;
                    case 16: kwargs = value; break;
                    case 32:
                        atStep = Utf8Parser.TryParse(line[value], out long step, out var used) && used == line[value].Length ? step : null;
                        break;
                }
            }

            // A second value after the object (two objects, trailing garbage) makes Read throw.
            return reader.Read() ? Invalid("trailing data") : new ParsedCommand(id, path, op, args, kwargs, atStep, null);
        }
        catch (JsonException e)
        {
            return Invalid(e.Message);
        }
        catch (InvalidOperationException e)
        {
            // A key with a lone surrogate escape, met while comparing it with the known names.
            return Invalid(e.Message);
        }
    }

    /// <summary>Walks one value (the reader on its first token), checking numbers and escaped strings.</summary>
    private static bool CheckValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return CheckToken(ref reader);
        }

        var depth = reader.CurrentDepth;
        while (reader.Read())
        {
            if (reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                return true;
            }

            if (!CheckToken(ref reader))
            {
                return false;
            }
        }

        return false;
    }

    private static bool CheckToken(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return Utf8Parser.TryParse(reader.ValueSpan, out double number, out _) && double.IsFinite(number);
        }

        if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
        {
            try
            {
                _ = reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        return true;
    }

    private static ParsedCommand Invalid(string reason) => new(default, default, default, default, default, null, reason);
}
