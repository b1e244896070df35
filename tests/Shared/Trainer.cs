using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl.Testing;

/// <summary>The state of the quick start's loop, which <see cref="Trainer"/>'s controls change.</summary>
public sealed class TrainState
{
    public double Lr { get; set; } = 1e-3;

    public double Dropout { get; set; } = 0.1;

    public List<string> Ckpts { get; } = [];

    /// <summary>Gets or sets how many commands the controls applied.</summary>
    public int Applied { get; set; }
}

/// <summary>
/// A real in-process controller with the quick start's three controls and the original's rules (a numeric string is
/// a number, the lr multiplier must be &gt; 0, dropout in [0,1)), to write real acks and a real <c>controller.json</c>.
/// </summary>
public static class Trainer
{
    /// <summary>Creates the controller; configures it on <paramref name="dir"/> when one is given.</summary>
    /// <param name="dir">The queue directory, or <see langword="null"/> to configure it later.</param>
    /// <param name="options">The controller's options; the default mutes diagnostics.</param>
    /// <param name="state">The state whose values <c>controller.json</c> shows (the polls' contexts are what the controls change).</param>
    public static RuntimeController<TrainState> Create(string? dir = null, RuntimeControllerOptions? options = null, TrainState? state = null)
    {
        var shown = state ?? new TrainState();
        var rt = new RuntimeController<TrainState>(options ?? new RuntimeControllerOptions { OnDiagnostic = _ => { } });
        rt.Register(
            "optimizer.lr.multiplier",
            (s, a) =>
            {
                s.Lr *= a.Args[0].GetDouble();
                s.Applied++;
            },
            validate: a => a.WithArgs(Number(a, "optimizer.lr.multiplier", "multiplier", v => v > 0 ? null : "multiplier must be > 0")),
            description: "Multiply the learning rate.",
            getValue: () => shown.Lr,
            parameters: [new ControlParameter("multiplier", "number", Required: true)]);
        rt.Register<double>(
            "model.dropout.p",
            (s, p) =>
            {
                s.Dropout = p;
                s.Applied++;
            },
            validate: p => p is >= 0 and < 1 ? p : throw new ArgumentException("dropout p must be in [0,1)"),
            getValue: () => shown.Dropout);
        rt.RegisterOptions<SaveOptions>("save_ckpt", (s, o) =>
        {
            s.Ckpts.Add(string.IsNullOrEmpty(o.Label) ? "auto" : o.Label);
            s.Applied++;
        });
        if (dir is not null)
        {
            rt.Configure(dir);
        }

        return rt;
    }

    /// <summary>Configures a controller on <paramref name="dir"/>, applies what is queued, and disposes it.</summary>
    public static IReadOnlyList<Ack> Drain(string dir, TrainState? state = null)
    {
        state ??= new TrainState();
        using var rt = Create(dir, state: state);
        return rt.PollAndApply(state, TimeSpan.Zero);
    }

    /// <summary>The original's number rule: exactly one positional argument, a JSON number or a numeric string, then <paramref name="check"/>.</summary>
    public static double Number(ControlArguments a, string path, string name, Func<double, string?> check)
    {
        if (a.Args.Count != 1)
        {
            throw new ArgumentException($"{path} expects exactly 1 positional arg, got {a.Args.Count}");
        }

        var v = a.Args[0];
        double value;
        if (v.ValueKind == JsonValueKind.Number)
        {
            value = v.GetDouble();
        }
        else if (v.ValueKind != JsonValueKind.String || !double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) || !double.IsFinite(value))
        {
            throw new ArgumentException($"{name} must be a number");
        }

        return check(value) is { } error ? throw new ArgumentException(error) : value;
    }

    /// <summary>The keyword arguments of <c>save_ckpt</c>.</summary>
    public sealed class SaveOptions
    {
        public string? Label { get; set; }
    }
}
