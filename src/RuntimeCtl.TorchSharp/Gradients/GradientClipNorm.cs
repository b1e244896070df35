using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace RuntimeCtl.TorchSharp;

/// <summary>
/// Holds a gradient-norm limit that a control can change while the training loop applies it after every backward pass.
/// </summary>
/// <remarks>
/// Call <see cref="Apply(IEnumerable{Parameter})"/> between <c>loss.backward()</c> and <c>optimizer.step()</c>.
/// <see cref="MaxNorm"/> may be read and written from any thread; <see cref="Apply(IEnumerable{Parameter})"/> belongs
/// to the training thread.
/// </remarks>
public sealed class GradientClipNorm
{
    // NaN stands for "off", so that the limit is one atomically readable double.
    private double _maxNorm;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="maxNorm">The limit of the total 2-norm of the gradients, or <see langword="null"/> for no clipping. The default is no clipping.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not a finite number above 0.</exception>
    public GradientClipNorm(double? maxNorm = null)
    {
        _maxNorm = Validate(maxNorm);
    }

    /// <summary>Gets or sets the limit of the total 2-norm of the gradients, or <see langword="null"/> when clipping is off.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a finite number above 0.</exception>
    public double? MaxNorm
    {
        get
        {
            var value = Volatile.Read(ref _maxNorm);
            return double.IsNaN(value) ? null : value;
        }

        set => Volatile.Write(ref _maxNorm, Validate(value));
    }

    /// <summary>Scales the gradients of <paramref name="parameters"/> in place so that their total 2-norm is at most <see cref="MaxNorm"/>.</summary>
    /// <param name="parameters">The parameters whose gradients to clip, typically <c>model.parameters()</c>.</param>
    /// <returns>The total norm of the gradients before clipping, or <see langword="null"/> when clipping is off (the gradients are then untouched).</returns>
    public double? Apply(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var maxNorm = Volatile.Read(ref _maxNorm);
        return double.IsNaN(maxNorm) ? null : utils.clip_grad_norm_(parameters, maxNorm);
    }

    private static double Validate(double? maxNorm)
    {
        if (maxNorm is not { } value)
        {
            return double.NaN;
        }

        return double.IsFinite(value) && value > 0
            ? value
            : throw new ArgumentOutOfRangeException(
                nameof(maxNorm),
                value,
                string.Create(CultureInfo.InvariantCulture, $"A gradient-norm limit must be a finite number above 0, but was {value}. Pass a value such as 1.0, or null to turn clipping off."));
    }
}
