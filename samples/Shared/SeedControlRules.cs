using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl.Samples;

/// <summary>
/// The argument rules of the original's three controls, with its exact messages, shared by the samples that
/// register them (QuickStart, MpiControlPlane).
/// </summary>
internal static class SeedControlRules
{
    public static ControlArguments SaveCheckpointArguments(ControlArguments a)
    {
        if (a.Args.Count != 0)
        {
            throw new ArgumentException("save_ckpt takes no positional args");
        }

        foreach (var (key, value) in a.Kwargs)
        {
            if (key != "label")
            {
                throw new ArgumentException($"save_ckpt got an unexpected keyword argument '{key}'");
            }

            if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                throw new ArgumentException("label must be a string");
            }
        }

        return a;
    }

    /// <summary>Exactly one positional argument, a JSON number or a numeric string (booleans and null are not numbers), and no keywords.</summary>
    public static double OneNumber(ControlArguments a, string path, string name, Func<double, string?> check)
    {
        if (a.Args.Count != 1)
        {
            throw new ArgumentException($"{path} expects exactly 1 positional arg, got {a.Args.Count}");
        }

        var arg = a.Args[0];
        double value;
        if (arg.ValueKind == JsonValueKind.Number)
        {
            value = arg.GetDouble();
        }
        else if (arg.ValueKind != JsonValueKind.String
            || !double.TryParse(arg.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            || !double.IsFinite(value))
        {
            throw new ArgumentException($"{name} must be a number");
        }

        if (check(value) is { } error)
        {
            throw new ArgumentException(error);
        }

        foreach (var key in a.Kwargs.Keys)
        {
            throw new ArgumentException($"{path} got an unexpected keyword argument '{key}'");
        }

        return value;
    }
}
