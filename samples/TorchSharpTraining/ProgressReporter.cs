using System.Diagnostics;
using System.Globalization;

namespace TorchSharpTraining;

/// <summary>
/// Prints progress: on a terminal one live line with throughput, redrawn at most ten times a second;
/// otherwise a plain <c>step N loss L lr X</c> line every <c>--log-every</c> steps and at the last step.
/// </summary>
internal sealed class ProgressReporter(TextWriter output, bool interactive, long totalSteps, long logEvery)
{
    private static readonly long RedrawTicks = Stopwatch.Frequency / 10;

    private readonly Stopwatch _elapsed = Stopwatch.StartNew();
    private long _lastDraw = long.MinValue;
    private int _lastWidth;

    public double StepsPerSecond(long steps) =>
        _elapsed.Elapsed.TotalSeconds > 0 ? steps / _elapsed.Elapsed.TotalSeconds : 0;

    public void Report(long step, double loss, double learningRate)
    {
        if (!interactive)
        {
            if (step % logEvery == 0 || step == totalSteps)
            {
                output.WriteLine(Line(step, loss, learningRate));
            }

            return;
        }

        var now = _elapsed.ElapsedTicks;
        if (step != totalSteps && now - _lastDraw < RedrawTicks)
        {
            return;
        }

        _lastDraw = now;
        var text = string.Create(
            CultureInfo.InvariantCulture,
            $"{Line(step, loss, learningRate)}  [{step}/{totalSteps}, {StepsPerSecond(step):F1} steps/s]");
        output.Write('\r' + text.PadRight(_lastWidth));
        _lastWidth = text.Length;
    }

    /// <summary>Ends the live line so that what follows starts on its own line.</summary>
    public void Finish()
    {
        if (interactive && _lastWidth > 0)
        {
            output.WriteLine();
        }
    }

    private static string Line(long step, double loss, double learningRate) =>
        string.Create(CultureInfo.InvariantCulture, $"step {step} loss {loss:G6} lr {learningRate:G6}");
}
