using System.Globalization;
using TorchSharp.Modules;
using Module = TorchSharp.torch.nn.Module;

namespace RuntimeCtl.TorchSharp;

/// <summary>
/// Reads and changes the drop probability of the dropout modules of a model in place.
/// </summary>
/// <remarks>
/// The probability is changed on the existing modules: replacing a module inside a <c>Sequential</c> is silently
/// ignored by TorchSharp. Dropout only acts in training mode (<c>model.train()</c>). Covers <c>Dropout</c>,
/// <c>Dropout1d/2d/3d</c>, <c>AlphaDropout</c> and <c>FeatureAlphaDropout</c>. Not thread-safe: call between steps,
/// on the training thread.
/// </remarks>
internal static class DropoutRates
{
    /// <summary>Gets each dropout module of the model by its <c>named_modules()</c> name (in TorchSharp's order, which is not depth-first), with its probability.</summary>
    public static IReadOnlyList<(string Name, double Probability)> Get(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. Find(model).Select(m => (m.Name, GetProbability(m.Module)))];
    }

    /// <summary>Sets the drop probability of every dropout module of the model.</summary>
    /// <returns>The number of modules changed (at least 1).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">The model has no dropout module.</exception>
    public static int SetAll(Module model, double probability)
    {
        ArgumentNullException.ThrowIfNull(model);
        RequireProbability(probability);
        var modules = Find(model);
        if (modules.Count == 0)
        {
            throw new ArgumentException(
                $"The model ({model.GetType().Name}) has no dropout module, so there is no dropout probability to set. Add an nn.Dropout to the model, or do not register a dropout control for it.",
                nameof(model));
        }

        foreach (var (_, module) in modules)
        {
            SetProbability(module, probability);
        }

        return modules.Count;
    }

    /// <summary>Sets the drop probability of the dropout module named <paramref name="moduleName"/> (as in <c>named_modules()</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">No dropout module has that name.</exception>
    public static void Set(Module model, string moduleName, double probability)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(moduleName);
        RequireProbability(probability);
        var modules = Find(model);
        var match = modules.FirstOrDefault(m => m.Name == moduleName);
        if (match.Module is null)
        {
            var names = modules.Count == 0 ? "the model has none" : "they are: " + string.Join(", ", modules.Select(m => m.Name));
            throw new ArgumentException(
                $"The model has no dropout module named '{moduleName}'; {names}.",
                nameof(moduleName));
        }

        SetProbability(match.Module, probability);
    }

    private static List<(string Name, Module Module)> Find(Module model) =>
        [.. model.named_modules().Where(m => IsDropout(m.Item2)).Select(m => (m.Item1, m.Item2))];

    private static bool IsDropout(Module module) =>
        module is Dropout or Dropout1d or Dropout2d or Dropout3d or AlphaDropout or FeatureAlphaDropout;

    // The dropout classes share no interface for p, hence the switches.
    private static double GetProbability(Module module) => module switch
    {
        Dropout d => d.p,
        Dropout1d d => d.p,
        Dropout2d d => d.p,
        Dropout3d d => d.p,
        AlphaDropout d => d.p,
        FeatureAlphaDropout d => d.p,
        _ => throw new ArgumentException($"{module.GetType().Name} is not a dropout module.", nameof(module)),
    };

    private static void SetProbability(Module module, double probability)
    {
        switch (module)
        {
            case Dropout d: d.p = probability; break;
            case Dropout1d d: d.p = probability; break;
            case Dropout2d d: d.p = probability; break;
            case Dropout3d d: d.p = probability; break;
            case AlphaDropout d: d.p = probability; break;
            case FeatureAlphaDropout d: d.p = probability; break;
            default: throw new ArgumentException($"{module.GetType().Name} is not a dropout module.", nameof(module));
        }
    }

    private static void RequireProbability(double probability)
    {
        if (!double.IsFinite(probability) || probability < 0 || probability > 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(probability),
                probability,
                string.Create(CultureInfo.InvariantCulture, $"A dropout probability must be from 0 to 1, but was {probability}. Pass a value such as 0.1."));
        }
    }
}
