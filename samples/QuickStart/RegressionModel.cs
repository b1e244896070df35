namespace QuickStart;

/// <summary>Linear regression on a fixed synthetic data set, trained by full-batch gradient descent with input dropout.</summary>
internal sealed class RegressionModel
{
    private const int Samples = 256;
    private const int Features = 8;

    private readonly double[,] _x = new double[Samples, Features];
    private readonly double[] _y = new double[Samples];
    private readonly double[] _w = new double[Features];
    private readonly double[] _gradient = new double[Features];
    private readonly Random _random;

    public RegressionModel(int seed)
    {
        _random = new Random(seed);
        var truth = new double[Features];
        for (var j = 0; j < Features; j++)
        {
            truth[j] = (_random.NextDouble() * 4) - 2;
        }

        for (var i = 0; i < Samples; i++)
        {
            double sum = 0;
            for (var j = 0; j < Features; j++)
            {
                _x[i, j] = (_random.NextDouble() * 2) - 1;
                sum += _x[i, j] * truth[j];
            }

            _y[i] = sum + ((_random.NextDouble() - 0.5) * 0.1);
        }
    }

    /// <summary>One gradient step; returns the mean squared error before the step.</summary>
    public double Step(double lr, double dropout)
    {
        Array.Clear(_gradient);
        double loss = 0;
        var keep = 1 - dropout;
        Span<double> input = stackalloc double[Features];
        for (var i = 0; i < Samples; i++)
        {
            double prediction = 0;
            for (var j = 0; j < Features; j++)
            {
                // Inverted dropout: drop with probability p, scale the kept inputs by 1 / (1 - p).
                input[j] = _random.NextDouble() < dropout ? 0 : _x[i, j] / keep;
                prediction += input[j] * _w[j];
            }

            var error = prediction - _y[i];
            loss += error * error;
            for (var j = 0; j < Features; j++)
            {
                _gradient[j] += 2 * error * input[j] / Samples;
            }
        }

        for (var j = 0; j < Features; j++)
        {
            _w[j] -= lr * _gradient[j];
        }

        return loss / Samples;
    }
}
