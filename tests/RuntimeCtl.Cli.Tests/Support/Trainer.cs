using System.Text.Json;

namespace RuntimeCtl.Cli.Tests.Support;

/// <summary>The quick-start loop's state.</summary>
public sealed class TrainState
{
    public double Lr { get; set; } = 1e-3;

    public double Dropout { get; set; } = 0.1;

    public List<string> Ckpts { get; } = [];
}

/// <summary>A real in-process controller with the seed's three controls, to write real acks and a real <c>controller.json</c>.</summary>
public static class Trainer
{
    public static RuntimeController<TrainState> Create(string dir, TrainState? state = null)
    {
        state ??= new TrainState();
        var rt = new RuntimeController<TrainState>(new RuntimeControllerOptions { OnDiagnostic = _ => { } });
        rt.Register<double>("optimizer.lr.multiplier", (s, m) => s.Lr *= m, validate: m => m > 0 ? m : throw new ArgumentException("multiplier must be > 0"), description: "Multiply the learning rate.", getValue: () => state.Lr);
        rt.Register<double>("model.dropout.p", (s, p) => s.Dropout = p, validate: p => p is >= 0 and < 1 ? p : throw new ArgumentException("dropout p must be in [0,1)"), getValue: () => state.Dropout);
        rt.Register("save_ckpt", (s, a) => s.Ckpts.Add(a.Kwargs.TryGetValue("label", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : "auto"), parameters: [new ControlParameter("label", "string", Required: false, Keyword: true)]);
        rt.Configure(dir);
        return rt;
    }

    /// <summary>Configures a controller on <paramref name="dir"/>, applies what is queued, and disposes it.</summary>
    public static IReadOnlyList<Ack> Drain(string dir, TrainState? state = null)
    {
        state ??= new TrainState();
        using var rt = Create(dir, state);
        return rt.PollAndApply(state, TimeSpan.Zero);
    }
}
