using System.Globalization;
using RuntimeCtl;
using RuntimeCtl.Samples;

namespace MpiControlPlane;

/// <summary>One rank's state that commands change.</summary>
internal sealed class TrainingState(MlpModel model, int rank, int? failRank)
{
    public MlpModel Model { get; } = model;

    public int Rank { get; } = rank;

    /// <summary>Gets the rank whose <c>save_ckpt</c> throws (<c>--fail-rank</c>), to show <c>rank_errors</c>.</summary>
    public int? FailRank { get; } = failRank;

    public double Lr { get; set; } = 1e-3;

    public double Dropout { get; set; } = 0.1;

    public long Step { get; set; }

    public List<string> Ckpts { get; } = [];
}

/// <summary>
/// The seed's three controls with QuickStart's exact rules and messages, registered on every rank: each rank
/// validates and applies every command, at the same step.
/// </summary>
internal static class ControlPlaneControls
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
            SaveCheckpoint,
            validate: SeedControlRules.SaveCheckpointArguments,
            description: "Record a checkpoint, labelled (or 'auto'); every rank prints its parameters' checksum.",
            getValue: () => state.Ckpts.ToArray(),
            parameters: [new ControlParameter("label", "string", Required: false, Keyword: true)]);
    }

    private static void SaveCheckpoint(TrainingState s, ControlArguments a)
    {
        if (s.Rank == s.FailRank)
        {
            throw new IOException($"rank {s.Rank} could not write its checkpoint (--fail-rank {s.Rank})");
        }

        var label = a.Kwargs.TryGetValue("label", out var value) && value.GetString() is { Length: > 0 } text ? text : "auto";
        s.Ckpts.Add(label);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {s.Rank} ckpt {label} step {s.Step} checksum {s.Model.Checksum()}"));
    }
}
