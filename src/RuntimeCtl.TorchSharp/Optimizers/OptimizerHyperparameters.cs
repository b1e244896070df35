using System.Globalization;
using System.Runtime.CompilerServices;
using TorchSharp.Modules;
using ILearningRateController = TorchSharp.torch.optim.ILearningRateController;
using Optimizer = TorchSharp.torch.optim.Optimizer;

namespace RuntimeCtl.TorchSharp;

/// <summary>
/// Reads and changes the hyperparameters of a TorchSharp optimizer in place, on every parameter group.
/// </summary>
/// <remarks>
/// TorchSharp optimizers read their options from each group at every <c>step()</c>, so a change applies to the next
/// step. The optimizer-level <c>Betas</c> and <c>Momentum</c> properties only change the defaults for groups added
/// later, which is why everything here goes through the groups. <see cref="OptimizerOptions.InitialLearningRate"/>
/// is left alone: chainable schedulers multiply the current rate, so they continue from a rate set here. Not
/// thread-safe: call between steps, on the training thread. Every setter validates everything before it changes
/// anything.
/// </remarks>
internal static class OptimizerHyperparameters
{
    /// <summary>Gets the learning rate of each parameter group, in group order.</summary>
    public static IReadOnlyList<double> GetLearningRates(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return [.. Groups(optimizer).Select(g => g.LearningRate)];
    }

    /// <summary>Sets the learning rate of every parameter group.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    /// <exception cref="NotSupportedException">The optimizer exposes no parameter groups.</exception>
    public static void SetLearningRate(Optimizer optimizer, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireNonNegative(learningRate, nameof(learningRate), "learning rate", "0.001");
        foreach (var group in RequireGroups(optimizer, "learning rate"))
        {
            group.LearningRate = learningRate;
        }
    }

    /// <summary>Multiplies the learning rate of every parameter group by <paramref name="factor"/>, keeping their ratios.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is negative or not finite.</exception>
    /// <exception cref="NotSupportedException">The optimizer exposes no parameter groups.</exception>
    public static void MultiplyLearningRate(Optimizer optimizer, double factor)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireNonNegative(factor, nameof(factor), "learning-rate factor", "0.5");
        foreach (var group in RequireGroups(optimizer, "learning rate"))
        {
            group.LearningRate *= factor;
        }
    }

    /// <summary>Gets whether every parameter group of the optimizer has a weight decay (SGD, Adam, AdamW, RMSprop and others).</summary>
    public static bool HasWeightDecay(Optimizer optimizer) => Supports(optimizer, WeightDecayField);

    /// <summary>Gets the weight decay of each parameter group.</summary>
    /// <exception cref="NotSupportedException">The optimizer has no weight decay.</exception>
    public static IReadOnlyList<double> GetWeightDecays(Optimizer optimizer) => Read(optimizer, WeightDecayField, "weight decay");

    /// <summary>Sets the weight decay of every parameter group (decoupled for AdamW: <c>p ← p − lr·wd·p</c> per step).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="weightDecay"/> is negative or not finite.</exception>
    /// <exception cref="NotSupportedException">The optimizer has no weight decay.</exception>
    public static void SetWeightDecay(Optimizer optimizer, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireNonNegative(weightDecay, nameof(weightDecay), "weight decay", "0.01");
        Write(optimizer, WeightDecayField, "weight decay", weightDecay);
    }

    /// <summary>Gets whether every parameter group of the optimizer has a momentum (SGD, RMSprop).</summary>
    public static bool HasMomentum(Optimizer optimizer) => Supports(optimizer, MomentumField);

    /// <summary>Gets the momentum of each parameter group.</summary>
    /// <exception cref="NotSupportedException">The optimizer has no momentum (Adam-style optimizers have betas).</exception>
    public static IReadOnlyList<double> GetMomenta(Optimizer optimizer) => Read(optimizer, MomentumField, "momentum");

    /// <summary>Sets the momentum of every parameter group; a momentum buffer starts at the next step when it was 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="momentum"/> is outside [0, 1), or 0 for SGD with Nesterov momentum.</exception>
    /// <exception cref="NotSupportedException">The optimizer has no momentum.</exception>
    public static void SetMomentum(Optimizer optimizer, double momentum)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireFraction(momentum, nameof(momentum), "Momentum", "0.9");
        if (momentum == 0 && Groups(optimizer).Any(g => g is ParamGroup { Options: SGD.Options { nesterov: true } }))
        {
            throw new ArgumentOutOfRangeException(
                nameof(momentum),
                momentum,
                "SGD with Nesterov momentum needs a momentum above 0. Pass a value such as 0.9, or create the optimizer without nesterov.");
        }

        Write(optimizer, MomentumField, "momentum", momentum);
    }

    /// <summary>Gets whether every parameter group of the optimizer has betas (Adam, AdamW, Adamax, NAdam, RAdam).</summary>
    public static bool HasBetas(Optimizer optimizer) => Supports(optimizer, Beta1Field);

    /// <summary>Gets the betas of each parameter group.</summary>
    /// <exception cref="NotSupportedException">The optimizer has no betas.</exception>
    public static IReadOnlyList<(double Beta1, double Beta2)> GetBetas(Optimizer optimizer)
    {
        var beta1 = Read(optimizer, Beta1Field, "betas");
        var beta2 = Read(optimizer, Beta2Field, "betas");
        return [.. beta1.Zip(beta2)];
    }

    /// <summary>Sets both betas of every parameter group.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A beta is outside [0, 1).</exception>
    /// <exception cref="NotSupportedException">The optimizer has no betas.</exception>
    public static void SetBetas(Optimizer optimizer, double beta1, double beta2)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireFraction(beta1, nameof(beta1), "Beta1", "0.9");
        RequireFraction(beta2, nameof(beta2), "Beta2", "0.999");
        Write(optimizer, Beta1Field, "betas", beta1);
        Write(optimizer, Beta2Field, "betas", beta2);
    }

    private delegate ref double? OptionField(OptimizerOptions options);

    // Each returns a reference to the option's field in the group's options, or a null reference when the
    // optimizer has no such option. Option classes are matched exactly; TorchSharp has no common interface for them.
    private static ref double? WeightDecayField(OptimizerOptions options)
    {
        switch (options)
        {
            case SGD.Options o: return ref o.weight_decay;
            case Adam.Options o: return ref o.weight_decay;
            case AdamW.Options o: return ref o.weight_decay;
            case RMSProp.Options o: return ref o.weight_decay;
            case Adagrad.Options o: return ref o.weight_decay;
            case Adadelta.Options o: return ref o.weight_decay;
            case Adamax.Options o: return ref o.weight_decay;
            case NAdam.Options o: return ref o.weight_decay;
            case RAdam.Options o: return ref o.weight_decay;
            case ASGD.Options o: return ref o.weight_decay;
            default: return ref Unsafe.NullRef<double?>();
        }
    }

    private static ref double? MomentumField(OptimizerOptions options)
    {
        switch (options)
        {
            case SGD.Options o: return ref o.momentum;
            case RMSProp.Options o: return ref o.momentum;
            default: return ref Unsafe.NullRef<double?>();
        }
    }

    private static ref double? Beta1Field(OptimizerOptions options)
    {
        switch (options)
        {
            case Adam.Options o: return ref o.beta1;
            case AdamW.Options o: return ref o.beta1;
            case Adamax.Options o: return ref o.beta1;
            case NAdam.Options o: return ref o.beta1;
            case RAdam.Options o: return ref o.beta1;
            default: return ref Unsafe.NullRef<double?>();
        }
    }

    private static ref double? Beta2Field(OptimizerOptions options)
    {
        switch (options)
        {
            case Adam.Options o: return ref o.beta2;
            case AdamW.Options o: return ref o.beta2;
            case Adamax.Options o: return ref o.beta2;
            case NAdam.Options o: return ref o.beta2;
            case RAdam.Options o: return ref o.beta2;
            default: return ref Unsafe.NullRef<double?>();
        }
    }

    private static List<ILearningRateController> Groups(Optimizer optimizer) =>
        optimizer.ParamGroups is { } groups ? [.. groups] : [];

    private static List<ILearningRateController> RequireGroups(Optimizer optimizer, string what)
    {
        var groups = Groups(optimizer);
        return groups.Count > 0
            ? groups
            : throw new NotSupportedException(
                $"The {optimizer.GetType().Name} optimizer exposes no parameter groups, so its {what} cannot be changed at run time. Use one of TorchSharp's managed optimizers (SGD, Adam, AdamW, RMSprop, ...).");
    }

    private static bool Supports(Optimizer optimizer, OptionField field)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var groups = Groups(optimizer);
        return groups.Count > 0 && groups.All(g => HasField(g, field));
    }

    private static bool HasField(ILearningRateController group, OptionField field) =>
        group is ParamGroup { Options: { } options } && !Unsafe.IsNullRef(ref field(options));

    private static List<OptimizerOptions> RequireField(Optimizer optimizer, OptionField field, string what)
    {
        var groups = RequireGroups(optimizer, what);
        if (!groups.All(g => HasField(g, field)))
        {
            throw new NotSupportedException(
                $"The {optimizer.GetType().Name} optimizer has no {what}. SGD and RMSprop have a momentum, the Adam family (Adam, AdamW, Adamax, NAdam, RAdam) has betas, and most optimizers have a weight decay.");
        }

        return [.. groups.Select(g => ((ParamGroup)g).Options)];
    }

    private static List<double> Read(Optimizer optimizer, OptionField field, string what)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return [.. RequireField(optimizer, field, what).Select(o => field(o) ?? double.NaN)];
    }

    private static void Write(Optimizer optimizer, OptionField field, string what, double value)
    {
        foreach (var options in RequireField(optimizer, field, what))
        {
            field(options) = value;
        }
    }

    private static void RequireNonNegative(double value, string parameter, string what, string example)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(
                parameter,
                value,
                string.Create(CultureInfo.InvariantCulture, $"The {what} must be a finite number of at least 0, but was {value}. Pass a value such as {example}."));
        }
    }

    private static void RequireFraction(double value, string parameter, string what, string example)
    {
        if (!double.IsFinite(value) || value < 0 || value >= 1)
        {
            throw new ArgumentOutOfRangeException(
                parameter,
                value,
                string.Create(CultureInfo.InvariantCulture, $"{what} must be at least 0 and below 1, but was {value}. Pass a value such as {example}."));
        }
    }
}
