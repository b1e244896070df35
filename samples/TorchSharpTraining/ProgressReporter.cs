using System.Diagnostics;
using System.Globalization;

namespace TorchSharpTraining;

/// <summary>
/// Prints progress: on a terminal one live line with the throughput, redrawn at most ten times a second; otherwise a
/// plain <c>step N loss L lr X</c> line (with <c>val_loss V</c> after the first evaluation) every <c>--log-every</c> steps and at the last step. Events (acks, pause)
/// go to <paramref name="events"/> on their own lines, so stdout stays parseable.
/// </summary>
internal sealed class ProgressReporter(TextWriter output, TextWriter events, bool interactive, long? totalSteps, long logEvery)
{
    private static readonly long RedrawTicks = Stopwatch.Frequency / 10;

    private readonly Stopwatch _elapsed = Stopwatch.StartNew();
    private long _lastDraw = long.MinValue;
    private int _lastWidth;
    private string? _lastText;

    /// <summary>Gets the optimizer steps run by this process.</summary>
    public long StepsRun { get; private set; }

    /// <summary>Gets or sets the last validation loss, shown after the learning rate once set.</summary>
    public double? ValidationLoss { get; set; }

    public double StepsPerSecond => _elapsed.Elapsed.TotalSeconds > 0 ? StepsRun / _elapsed.Elapsed.TotalSeconds : 0;

    public void Report(long step, double loss, double learningRate)
    {
        StepsRun++;
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
        var of = totalSteps is { } total ? $"{step}/{total}" : $"{step}";
        Draw(string.Create(CultureInfo.InvariantCulture, $"{Line(step, loss, learningRate)}  [{of}, {StepsPerSecond:F1} steps/s]"));
    }

    /// <summary>Writes one event line, clearing the live line first and redrawing it after.</summary>
    public void Event(string text)
    {
        if (interactive && _lastWidth > 0)
        {
            output.Write('\r' + new string(' ', _lastWidth) + '\r');
            output.Flush();
        }

        events.WriteLine(text);
        events.Flush();
        if (interactive && _lastText is not null)
        {
            Draw(_lastText);
        }
    }

    /// <summary>Ends the live line so that what follows starts on its own line.</summary>
    public void Finish()
    {
        if (interactive && _lastWidth > 0)
        {
            output.WriteLine();
        }
    }

    private void Draw(string text)
    {
        output.Write('\r' + text.PadRight(_lastWidth));
        output.Flush();
        _lastWidth = text.Length;
        _lastText = text;
    }

    private string Line(long step, double loss, double learningRate)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"step {step} loss {loss:G6} lr {learningRate:G6}");
        return ValidationLoss is { } validation ? string.Create(CultureInfo.InvariantCulture, $"{line} val_loss {validation:G6}") : line;
    }
}
