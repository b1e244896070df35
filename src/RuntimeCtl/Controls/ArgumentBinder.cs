using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeCtl;

/// <summary>The reason a command's arguments do not fit a control; its message becomes a <c>failed</c> ack.</summary>
internal sealed class ControlArgumentException(string message) : Exception(message);

/// <summary>Converts JSON arguments to the CLR types of typed controls, with messages a person can act on.</summary>
internal static class ArgumentBinder
{
    public static string JsonTypeOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "number";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
            || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(sbyte))
        {
            return "integer";
        }

        if (type == typeof(string) || type.IsEnum)
        {
            return "string";
        }

        if (type == typeof(bool))
        {
            return "boolean";
        }

        if (type.IsArray)
        {
            return "array";
        }

        return type == typeof(JsonElement) ? "any" : "object";
    }

    public static T Convert<T>(JsonElement value, string what) => (T)Convert(value, typeof(T), what)!;

    public static object? Convert(JsonElement value, Type type, string what)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
        {
            return value.ValueKind == JsonValueKind.Null ? null : Convert(value, underlying, what);
        }

        if (type == typeof(JsonElement))
        {
            return value;
        }

        if (type == typeof(string))
        {
            return value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Null => null,
                _ => throw Mismatch(what, "a string", value),
            };
        }

        if (type == typeof(bool))
        {
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Mismatch(what, "true or false", value),
            };
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            var number = ReadNumber(value, what);
            if (type == typeof(double))
            {
                return number;
            }

            if (type == typeof(float))
            {
                var single = (float)number;
                return float.IsFinite(single) ? single : throw Mismatch(what, "a number in the range of float", value);
            }

            return (decimal)number;
        }

        if (JsonTypeOf(type) == "integer")
        {
            var number = ReadNumber(value, what);
            if (number != Math.Floor(number))
            {
                throw Mismatch(what, "a whole number", value);
            }

            try
            {
                return System.Convert.ChangeType(
                    value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var exact) ? exact : (long)number,
                    type,
                    CultureInfo.InvariantCulture);
            }
            catch (OverflowException)
            {
                throw Mismatch(what, $"a whole number that fits {type.Name}", value);
            }
        }

        if (type.IsEnum)
        {
            if (value.ValueKind == JsonValueKind.String
                && Enum.TryParse(type, value.GetString(), ignoreCase: true, out var parsed)
                && Enum.IsDefined(type, parsed))
            {
                return parsed;
            }

            throw Mismatch(what, "one of " + string.Join(", ", Enum.GetNames(type)), value);
        }

        throw new ControlArgumentException(
            $"{what} has the type {type.Name}, which RuntimeCtl cannot convert from JSON; use a number, string, bool, enum or JsonElement parameter.");
    }

    public static ControlArgumentException UnexpectedKeyword(string path, string key, IEnumerable<string> known)
    {
        var names = known.ToList();
        var hint = names.Count == 0 ? "it takes no keyword arguments" : "it takes " + string.Join(", ", names.Select(n => $"'{n}'"));
        return new ControlArgumentException($"{path} got an unexpected keyword argument '{key}' ({hint})");
    }

    private static double ReadNumber(JsonElement value, string what)
    {
        // Numeric strings are numbers too (a shell user who quoted "0.5"); bools and null are not.
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d))
        {
            return d;
        }

        if (value.ValueKind == JsonValueKind.String
            && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d)
            && double.IsFinite(d))
        {
            return d;
        }

        throw Mismatch(what, "a number", value);
    }

    private static ControlArgumentException Mismatch(string what, string expected, JsonElement value)
    {
        var text = value.GetRawText();
        if (text.Length > 60)
        {
            text = text[..57] + "...";
        }

        return new ControlArgumentException($"{what} must be {expected}, got {text}");
    }
}

/// <summary>Binds keyword arguments to the settable public properties of an options type.</summary>
internal sealed class OptionsBinder<[DynamicallyAccessedMembers(OptionsBinder.Members)] TOptions>
    where TOptions : new()
{
    private readonly Dictionary<string, PropertyInfo> _byName = new(StringComparer.Ordinal);

    public OptionsBinder()
    {
        foreach (var property in typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is null || !property.SetMethod.IsPublic || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var jsonName = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? ToSnakeCase(property.Name);
            Parameters.Add(new ControlParameter(jsonName, ArgumentBinder.JsonTypeOf(property.PropertyType), property.GetCustomAttribute<RequiredKeywordAttribute>() is not null, Keyword: true));
            _byName[jsonName] = property;
        }
    }

    public List<ControlParameter> Parameters { get; } = [];

    public (TOptions Options, Dictionary<string, object?> Echo) Bind(string path, IReadOnlyDictionary<string, JsonElement> kwargs)
    {
        var options = new TOptions();
        var echo = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in kwargs)
        {
            if (!_byName.TryGetValue(key, out var property))
            {
                throw ArgumentBinder.UnexpectedKeyword(path, key, _byName.Keys);
            }

            var converted = ArgumentBinder.Convert(value, property.PropertyType, $"{path}: keyword '{key}'");
            property.SetValue(options, converted);
            echo[key] = converted;
        }

        foreach (var parameter in Parameters)
        {
            if (parameter.Required && !kwargs.ContainsKey(parameter.Name))
            {
                throw new ControlArgumentException($"{path} needs the keyword argument '{parameter.Name}'");
            }
        }

        return (options, echo);
    }

    private static string ToSnakeCase(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
}

/// <summary>The trimming annotation the options binder needs.</summary>
internal static class OptionsBinder
{
    public const DynamicallyAccessedMemberTypes Members =
        DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor;
}

/// <summary>Marks a property of an options type as a keyword argument that every command must give.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class RequiredKeywordAttribute : Attribute
{
}
