using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace MpiControlPlane;

/// <summary>
/// A two-layer perceptron (8 → 32 → 1, ReLU, dropout on the hidden layer) trained with Adam on one rank's shard
/// of a regression data set. Every rank starts from the same weights; the caller averages the gradients.
/// </summary>
/// <remarks>
/// All parameters live in one float array and all gradients in another of the same layout plus one slot for the
/// loss, so one all-reduce per step averages both.
/// </remarks>
internal sealed class MlpModel
{
    public const int Inputs = 8;
    public const int Hidden = 32;
    public const int BatchSize = 32;
    private const int ShardSize = 1024;

    // Offsets of the weight matrices and biases in the parameter array.
    private const int W1 = 0;
    private const int B1 = W1 + (Inputs * Hidden);
    private const int W2 = B1 + Hidden;
    private const int B2 = W2 + Hidden;
    private const int Count = B2 + 1;

    private readonly float[] _parameters = new float[Count];
    private readonly float[] _gradient = new float[Count + 1];
    private readonly float[] _m = new float[Count];
    private readonly float[] _v = new float[Count];
    private readonly float[,] _x = new float[ShardSize, Inputs];
    private readonly float[] _y = new float[ShardSize];
    private readonly float[] _hidden = new float[Hidden];
    private readonly float[] _mask = new float[Hidden];
    private readonly Random _dropout;
    private long _updates;

    /// <param name="seed">Decides the initial weights and the target function: the same on every rank.</param>
    /// <param name="rank">Decides this rank's data shard and dropout masks.</param>
    public MlpModel(int seed, int rank)
    {
        var shared = new Random(seed);
        var scale1 = MathF.Sqrt(6f / (Inputs + Hidden));
        for (var i = W1; i < B1; i++)
        {
            _parameters[i] = ((shared.NextSingle() * 2) - 1) * scale1;
        }

        var scale2 = MathF.Sqrt(6f / (Hidden + 1));
        for (var i = W2; i < B2; i++)
        {
            _parameters[i] = ((shared.NextSingle() * 2) - 1) * scale2;
        }

        var teacher = new float[Inputs];
        for (var j = 0; j < Inputs; j++)
        {
            teacher[j] = (shared.NextSingle() * 2) - 1;
        }

        // Each rank sees only its own shard, as in data-parallel training with a distributed sampler.
        var data = new Random(StreamSeed(seed, rank, 1));
        for (var i = 0; i < ShardSize; i++)
        {
            float y = 0;
            for (var j = 0; j < Inputs; j++)
            {
                _x[i, j] = (data.NextSingle() * 2) - 1;
                y += teacher[j] * MathF.Sin(3 * _x[i, j]);
            }

            _y[i] = y + ((data.NextSingle() - 0.5f) * 0.05f);
        }

        // Masks differ between ranks, as in DDP; the weights stay identical because every rank applies the same
        // averaged gradient.
        _dropout = new Random(StreamSeed(seed, rank, 2));
    }

    /// <summary>Gets the gradient buffer to average across ranks: the parameters' gradients, then the loss.</summary>
    public Span<float> Gradient => _gradient;

    /// <summary>Computes this rank's mean-squared-error gradient on the minibatch of <paramref name="step"/>.</summary>
    public void Backward(long step, double dropout)
    {
        Array.Clear(_gradient);
        var p = (float)dropout;
        var keep = 1 - p;
        var first = (int)(step * BatchSize % ShardSize);
        float loss = 0;
        for (var n = 0; n < BatchSize; n++)
        {
            var i = first + n;
            for (var h = 0; h < Hidden; h++)
            {
                float sum = _parameters[B1 + h];
                for (var j = 0; j < Inputs; j++)
                {
                    sum += _parameters[W1 + (h * Inputs) + j] * _x[i, j];
                }

                // Inverted dropout: drop with probability p, scale the kept units by 1 / (1 - p).
                _mask[h] = sum > 0 && _dropout.NextSingle() >= p ? 1 / keep : 0;
                _hidden[h] = sum * _mask[h];
            }

            var output = _parameters[B2];
            for (var h = 0; h < Hidden; h++)
            {
                output += _parameters[W2 + h] * _hidden[h];
            }

            var error = output - _y[i];
            loss += error * error / BatchSize;
            var dOutput = 2 * error / BatchSize;
            _gradient[B2] += dOutput;
            for (var h = 0; h < Hidden; h++)
            {
                _gradient[W2 + h] += dOutput * _hidden[h];
                var dHidden = dOutput * _parameters[W2 + h] * _mask[h];
                if (dHidden == 0)
                {
                    continue;
                }

                _gradient[B1 + h] += dHidden;
                for (var j = 0; j < Inputs; j++)
                {
                    _gradient[W1 + (h * Inputs) + j] += dHidden * _x[i, j];
                }
            }
        }

        _gradient[Count] = loss;
    }

    /// <summary>Divides the summed gradient by the world size and applies one Adam step; returns the mean loss.</summary>
    public float Step(double lr, int worldSize)
    {
        const float Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;
        _updates++;
        var correction1 = 1 - MathF.Pow(Beta1, _updates);
        var correction2 = 1 - MathF.Pow(Beta2, _updates);
        var rate = (float)lr;
        for (var i = 0; i < Count; i++)
        {
            var g = _gradient[i] / worldSize;
            _m[i] = (Beta1 * _m[i]) + ((1 - Beta1) * g);
            _v[i] = (Beta2 * _v[i]) + ((1 - Beta2) * g * g);
            _parameters[i] -= rate * (_m[i] / correction1) / (MathF.Sqrt(_v[i] / correction2) + Epsilon);
        }

        return _gradient[Count] / worldSize;
    }

    // Not HashCode.Combine: its seed changes from process to process, and the streams must be reproducible.
    private static int StreamSeed(int seed, int rank, int stream) => unchecked((seed * 1_000_003) + (rank * 7_919) + stream);

    /// <summary>Returns the first 16 hex digits of the SHA-256 of the parameters' raw bytes.</summary>
    public string Checksum() => Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(_parameters.AsSpan())))[..16];
}
