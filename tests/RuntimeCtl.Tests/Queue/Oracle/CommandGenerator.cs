using System.Text;

namespace RuntimeCtl.Tests.Queue.Oracle;

/// <summary>
/// Seeded command lines for the differential test: well-formed commands with values of every kind where each field
/// goes, then often mutated (bytes flipped, cut, doubled keys, deep nesting, BOMs, odd whitespace, other roots).
/// The same seed gives the same lines.
/// </summary>
internal sealed class CommandGenerator(int seed)
{
    private static readonly string[] Names = ["id", "path", "op", "args", "kwargs", "at_step", "ts", "source", "x", "k"];

    private static readonly string[] EscapedNames =
        ["i\\u0064", "\\u0070ath", "o\\u0070", "\\u0061rgs", "kw\\u0061rgs", "at\\u005fstep", "\\u0069\\u0064", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "k\\udc00", "\\ud83dx"];

    private static readonly string[] Strings =
    [
        "", "a", "save_ckpt", "optim.lr", "model.dropout.p", "set", "SET", "get", "é", "日本", "😀",
        "a\\u0062", "s\\u0065t", "\\\"", "\\\\", "\\n\\t\\r\\b\\f\\/", "\\u0000", "\\u001f", "\\u00e9", "\\u2028",
        "\\ud83d\\ude00", "\\ud800", "\\udc00", "\\ude00\\ud83d", "\\ud800\\u0041", "x\\ud800", "\\ud800\\ud800", "\\uD83D\\uDE00",
        "\\uDBFF\\uDFFF", "\\ud800\\", "</script>", "'", "\u007f", "\u0085", "\u2028", "\uFEFF",
    ];

    private static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "12", "1.5", "-0.0", "1e3", "1E+2", "1e-2", "0.1e1", "1e400", "-1e400", "1e-400", "1e308", "1.8e308",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "123456789012345678901234567890", "0.000000000000000000000000000001", "4.9e-324", "2.5e-324",
    ];

    private static readonly string[] Spaces = ["", "", "", " ", "  ", "\t", "\n", "\r\n", "\r"];

    private static readonly string[] Debris = ["{", "}", "[", "]", ",", ":", "\"", "\\", "x", "1", "-", ".", "e", "\\u", "/*", "null", " ", "\u00e9", "\t"];

    private readonly Random _random = new(seed);

    /// <summary>Returns the next line's bytes.</summary>
    public byte[] Next()
    {
        var text = _random.Next(10) switch
        {
            0 => Value(0),
            1 => Nested(_random.Next(58, 70)),
            _ => Command(),
        };

        var bytes = Encoding.UTF8.GetBytes(text);
        var mutations = _random.Next(2) == 0 ? 0 : _random.Next(1, 3);
        for (var i = 0; i < mutations; i++)
        {
            bytes = Mutate(bytes);
        }

        return bytes;
    }

    private string Command()
    {
        var fields = new List<string>();
        if (_random.Next(2) == 0)
        {
            fields.Add($"\"id\":\"{RandomGuid()}\"");
        }

        if (_random.Next(2) == 0)
        {
            fields.Add("\"path\":\"optim.lr\"");
        }

        var count = _random.Next(0, 6);
        for (var i = 0; i < count; i++)
        {
            var name = Pick(Names);
            if (_random.Next(6) == 0)
            {
                name = Pick(EscapedNames);
            }

            fields.Add(Space() + "\"" + name + "\"" + Space() + ":" + Space() + FieldValue(name) + Space());
        }

        if (fields.Count > 1 && _random.Next(5) == 0)
        {
            fields.Insert(_random.Next(fields.Count + 1), fields[_random.Next(fields.Count)]); // a key twice
        }

        if (_random.Next(12) == 0)
        {
            // Many keys in one object: past the stack's room and the document's cache threshold.
            var many = Enumerable.Range(0, _random.Next(30, 80)).Select(i => $"\"k{i}\":{i}").ToList();
            if (_random.Next(2) == 0)
            {
                many.Add($"\"k{_random.Next(many.Count)}\":0");
            }

            fields.Add("\"kwargs\":{" + string.Join(",", many) + "}");
        }

        return Space() + "{" + string.Join(",", fields) + "}" + Space();
    }

    private string FieldValue(string name)
    {
        if (_random.Next(3) != 0)
        {
            return Value(1); // any kind: the wrong ones are refused or rejected
        }

        return name switch
        {
            "id" => "\"" + (_random.Next(2) == 0 ? RandomGuid() : Pick(Strings)) + "\"",
            "path" => "\"" + Pick(["optim.lr", "save_ckpt", "model.dropout.p", "noop", Pick(Strings)]) + "\"",
            "op" => "\"" + Pick(["set", "set", "get", Pick(Strings)]) + "\"",
            "args" => "[" + string.Join(",", Enumerable.Range(0, _random.Next(4)).Select(_ => Value(2))) + "]",
            "kwargs" => "{" + string.Join(",", Enumerable.Range(0, _random.Next(4)).Select(i => $"\"{Pick(Names)}{i}\":" + Value(2))) + "}",
            "at_step" => Pick(Numbers),
            _ => Value(2),
        };
    }

    private string Value(int depth)
    {
        var kind = depth > 6 ? _random.Next(5) : _random.Next(7);
        return kind switch
        {
            0 => "\"" + Pick(Strings) + (_random.Next(8) == 0 ? new string('é', _random.Next(50, 130)) + "😀" : string.Empty) + "\"",
            1 => Pick(Numbers),
            2 => Pick(["true", "false"]),
            3 => "null",
            4 => "\"" + Pick(Strings) + "\"",
            5 => "[" + string.Join("," + Space(), Enumerable.Range(0, _random.Next(4)).Select(_ => Value(depth + 1))) + "]",
            _ => "{" + string.Join(",", Enumerable.Range(0, _random.Next(4)).Select(_ => "\"" + (_random.Next(5) == 0 ? Pick(EscapedNames) : Pick(Names)) + "\":" + Space() + Value(depth + 1))) + "}",
        };
    }

    /// <summary>A command whose args nest <paramref name="levels"/> containers deep (the limit is 64 with the root).</summary>
    private string Nested(int levels)
    {
        var inner = new StringBuilder();
        var closers = new Stack<char>();
        for (var i = 0; i < levels; i++)
        {
            if (_random.Next(2) == 0)
            {
                inner.Append('[');
                closers.Push(']');
            }
            else
            {
                inner.Append("{\"a\":");
                closers.Push('}');
            }
        }

        inner.Append(Pick(Numbers));
        while (closers.Count > 0)
        {
            inner.Append(closers.Pop());
        }

        return "{\"id\":\"deep\",\"path\":\"noop\",\"args\":[" + inner + "]}";
    }

    private byte[] Mutate(byte[] bytes)
    {
        var list = bytes.ToList();
        var at = list.Count == 0 ? 0 : _random.Next(list.Count + 1);
        switch (_random.Next(8))
        {
            case 0 when list.Count > 0:
                list[Math.Min(at, list.Count - 1)] = (byte)_random.Next(256); // any byte, invalid UTF-8 too
                break;
            case 1:
                list.RemoveRange(at, list.Count - at); // cut
                break;
            case 2:
                list.InsertRange(at, Encoding.UTF8.GetBytes(Pick(Debris)));
                break;
            case 3 when list.Count > 0:
                list.RemoveAt(Math.Min(at, list.Count - 1));
                break;
            case 4:
                list.InsertRange(0, [0xEF, 0xBB, 0xBF]); // a BOM
                break;
            case 5:
                list.InsertRange(at, Encoding.UTF8.GetBytes(Pick(Spaces)));
                break;
            case 6:
                list.AddRange(Encoding.UTF8.GetBytes(Pick([" x", "{}", ",{}", "\u0000", "]", "}"])));
                break;
            default:
                var from = _random.Next(list.Count + 1);
                var length = _random.Next(Math.Min(12, list.Count - from) + 1);
                list.InsertRange(at, list.GetRange(from, length)); // a piece doubled
                break;
        }

        return [.. list];
    }

    private string RandomGuid()
    {
        var bytes = new byte[16];
        _random.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private string Space() => Pick(Spaces);

    private string Pick(string[] options) => options[_random.Next(options.Length)];
}
