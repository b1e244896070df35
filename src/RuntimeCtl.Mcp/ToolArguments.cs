using System.Text.Json;

namespace RuntimeCtl.Mcp;

/// <summary>A tool's arguments are not what its schema says; the message says which and how.</summary>
internal sealed class ToolArgumentException : Exception
{
    public ToolArgumentException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// The arguments of one tool call, checked against its schema by hand (clients do not all validate): each accessor
/// throws <see cref="ToolArgumentException"/> for a value of the wrong type or out of range.
/// </summary>
internal sealed class ToolArguments
{
    private readonly string _tool;
    private readonly IDictionary<string, JsonElement> _values;

    public ToolArguments(string tool, IDictionary<string, JsonElement>? values)
    {
        _tool = tool;
        _values = values ?? new Dictionary<string, JsonElement>();
    }

    /// <summary>Refuses an argument the tool does not take (a typo would otherwise be ignored).</summary>
    public void Only(params string[] names)
    {
        foreach (var name in _values.Keys)
        {
            if (System.Array.IndexOf(names, name) < 0)
            {
                throw new ToolArgumentException(names.Length == 0
                    ? $"{_tool} takes no arguments, got '{name}'."
                    : $"{_tool} has no argument '{name}'; it takes {string.Join(", ", names)}.");
            }
        }
    }

    public string RequiredString(string name) =>
        String(name) ?? throw new ToolArgumentException($"{_tool} needs '{name}', a non-empty string.");

    public string? String(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value when value.GetString() is { Length: > 0 } text => text,
        var other => throw Wrong(name, "a non-empty string", other.Value),
    };

    public IReadOnlyList<object?> Array(string name) => Get(name) switch
    {
        null => [],
        { ValueKind: JsonValueKind.Array } value => value.EnumerateArray().Select(e => (object?)e.Clone()).ToArray(),
        var other => throw Wrong(name, "an array of JSON values", other.Value),
    };

    public IReadOnlyList<KeyValuePair<string, object?>> Object(string name) => Get(name) switch
    {
        null => [],
        { ValueKind: JsonValueKind.Object } value => value.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, p.Value.Clone())).ToArray(),
        var other => throw Wrong(name, "an object of keyword arguments", other.Value),
    };

    public long? Integer(string name, long min, long max) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt64(out var n) && n >= min && n <= max => n,
        var other => throw Wrong(name, max == long.MaxValue ? $"a whole number, {min} or more" : $"a whole number from {min} to {max}", other.Value),
    };

    public double? Number(string name, double min, double max) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetDouble(out var n) && n >= min && n <= max => n,
        var other => throw Wrong(name, $"a number from {min} to {max}", other.Value),
    };

    // A JSON null is an argument not given.
    private JsonElement? Get(string name) => _values.TryGetValue(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private ToolArgumentException Wrong(string name, string expected, JsonElement got)
    {
        var text = got.GetRawText();
        return new ToolArgumentException($"{_tool}: '{name}' must be {expected}, got {(text.Length <= 80 ? text : text[..77] + "...")}.");
    }
}
