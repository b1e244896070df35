using static TorchSharp.torch;

namespace TorchSharpTraining;

/// <summary>
/// A regression data set made in-process from a seed, so the sample downloads nothing:
/// y = sin(x·a) + 0.5·cos(x·b)·(x·c) + noise, with 16 standard-normal features.
/// </summary>
internal sealed class SyntheticRegression : IDisposable
{
    public const int Features = 16;

    private readonly Tensor _inputs;
    private readonly Tensor _targets;
    private readonly Generator _sampler;

    public SyntheticRegression(int samples, int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var inputs = randn(samples, Features, generator: generator);
        var a = randn(Features, 1, generator: generator) / Math.Sqrt(Features);
        var b = randn(Features, 1, generator: generator) / Math.Sqrt(Features);
        var c = randn(Features, 1, generator: generator) / Math.Sqrt(Features);
        var noise = randn(samples, 1, generator: generator) * 0.05;
        var targets = inputs.matmul(a).sin() + (0.5 * inputs.matmul(b).cos() * inputs.matmul(c)) + noise;
        _inputs = inputs.MoveToOuterDisposeScope();
        _targets = targets.MoveToOuterDisposeScope();
        _sampler = new Generator((ulong)seed + 1);
    }

    public long Count => _inputs.shape[0];

    /// <summary>Draws a mini-batch with replacement; the tensors belong to the caller's dispose scope.</summary>
    public (Tensor Inputs, Tensor Targets) Sample(int batchSize)
    {
        var indices = randint(0, Count, [batchSize], generator: _sampler, dtype: ScalarType.Int64);
        return (_inputs.index_select(0, indices), _targets.index_select(0, indices));
    }

    public void Dispose()
    {
        _inputs.Dispose();
        _targets.Dispose();
        _sampler.Dispose();
    }
}
