using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl.Tests.Support;

/// <summary>The state of the seed's example loop, and its three controls with the seed's rules.</summary>
public sealed class TrainState
{
    public double Lr { get; set; } = 1e-3;

    public double Dropout { get; set; } = 0.1;

    public List<string> Ckpts { get; } = [];

    public int Applied { get; set; }
}

public static class Trainer
{
    public static RuntimeController<TrainState> Create(string? dir = null, RuntimeControllerOptions? options = null)
    {
        var rt = new RuntimeController<TrainState>(options ?? new RuntimeControllerOptions { OnDiagnostic = _ => { } });
        rt.Register("optimizer.lr.multiplier", (s, a) => { s.Lr *= a.Args[0].GetDouble(); s.Applied++; }, validate: a => a.WithArgs(Number(a, "optimizer.lr.multiplier", "multiplier", v => v > 0 ? null : "multiplier must be > 0")));
        rt.Register<double>("model.dropout.p", (s, p) => { s.Dropout = p; s.Applied++; }, validate: p => p is >= 0 and < 1 ? p : throw new ArgumentException("dropout p must be in [0,1)"));
        rt.RegisterOptions<SaveOptions>("save_ckpt", (s, o) => { s.Ckpts.Add(string.IsNullOrEmpty(o.Label) ? "auto" : o.Label); s.Applied++; });
        if (dir is not null)
        {
            rt.Configure(dir);
        }

        return rt;
    }

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

    public sealed class SaveOptions
    {
        public string? Label { get; set; }
    }
}
