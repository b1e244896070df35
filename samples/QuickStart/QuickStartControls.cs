using RuntimeCtl;
using RuntimeCtl.Samples;

namespace QuickStart;

/// <summary>The loop's state that commands change.</summary>
internal sealed class TrainingState
{
    public double Lr { get; set; } = 1e-3;

    public double Dropout { get; set; } = 0.1;

    public List<string> Ckpts { get; } = [];

    /// <summary>Gets or sets the file that gets a line per save_ckpt application (QuickStart --record), or null.</summary>
    public string? Record { get; set; }

    public void SaveCheckpoint(string label)
    {
        if (Record is { } path)
        {
            // Written before the checkpoint counts as taken: a process killed after this line has applied it.
            File.AppendAllText(path, label + "\n");
        }

        Ckpts.Add(label);
    }
}

/// <summary>The seed's three controls, with the seed's exact rules and messages.</summary>
internal static class QuickStartControls
{
    public static void RegisterAll(RuntimeController<TrainingState> rt, TrainingState state)
    {
        rt.Register(
            "optimizer.lr.multiplier",
            (s, a) => s.Lr *= a.Args[0].GetDouble(),
            validate: a => a.WithArgs(SeedControlRules.OneNumber(a, "optimizer.lr.multiplier", "multiplier", v => v > 0 ? null : "multiplier must be > 0")),
            description: "Multiply the learning rate by a factor > 0.",
            getValue: () => state.Lr,
            parameters: [new ControlParameter("multiplier", "number", Required: true)]);
        rt.Register(
            "model.dropout.p",
            (s, a) => s.Dropout = a.Args[0].GetDouble(),
            validate: a => a.WithArgs(SeedControlRules.OneNumber(a, "model.dropout.p", "dropout p", v => v is >= 0 and < 1 ? null : "dropout p must be in [0,1)")),
            description: "Set the dropout probability, 0 <= p < 1.",
            getValue: () => state.Dropout,
            parameters: [new ControlParameter("p", "number", Required: true)]);
        rt.Register(
            "save_ckpt",
            (s, a) => s.SaveCheckpoint(a.Kwargs.TryGetValue("label", out var label) && label.GetString() is { Length: > 0 } text ? text : "auto"),
            validate: SeedControlRules.SaveCheckpointArguments,
            description: "Record a checkpoint, labelled (or 'auto').",
            getValue: () => state.Ckpts.ToArray(),
            parameters: [new ControlParameter("label", "string", Required: false, Keyword: true)]);
    }
}
