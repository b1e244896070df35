using System.Globalization;
using System.Text.Json;
using RuntimeCtl;

namespace QuickStart;

/// <summary>The loop's state that commands change.</summary>
internal sealed class TrainingState
{
    public double Lr { get; set; } = 1e-3;

    public double Dropout { get; set; } = 0.1;

    public List<string> Ckpts { get; } = [];
}

/// <summary>The seed's three controls, with the seed's exact rules and messages.</summary>
internal static class QuickStartControls
{
    public static void RegisterAll(RuntimeController<TrainingState> rt, TrainingState state)
    {
        rt.Register(
            "optimizer.lr.multiplier",
            (s, a) => s.Lr *= a.Args[0].GetDouble(),
            validate: a => a.WithArgs(OneNumber(a, "optimizer.lr.multiplier", "multiplier", v => v > 0 ? null : "multiplier must be > 0")),
            description: "Multiply the learning rate by a factor > 0.",
            getValue: () => state.Lr,
            parameters: [new ControlParameter("multiplier", "number", Required: true)]);
        rt.Register(
            "model.dropout.p",
            (s, a) => s.Dropout = a.Args[0].GetDouble(),
            validate: a => a.WithArgs(OneNumber(a, "model.dropout.p", "dropout p", v => v is >= 0 and < 1 ? null : "dropout p must be in [0,1)")),
            description: "Set the dropout probability, 0 <= p < 1.",
            getValue: () => state.Dropout,
            parameters: [new ControlParameter("p", "number", Required: true)]);
        rt.Register(
            "save_ckpt",
            (s, a) => s.Ckpts.Add(a.Kwargs.TryGetValue("label", out var label) && label.GetString() is { Length: > 0 } text ? text : "auto"),
            validate: SaveCheckpointArguments,
            description: "Record a checkpoint, labelled (or 'auto').",
            getValue: () => state.Ckpts.ToArray(),
            parameters: [new ControlParameter("label", "string", Required: false, Keyword: true)]);
    }

    private static ControlArguments SaveCheckpointArguments(ControlArguments a)
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
    private static double OneNumber(ControlArguments a, string path, string name, Func<double, string?> check)
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
