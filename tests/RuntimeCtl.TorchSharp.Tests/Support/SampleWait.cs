using System.Diagnostics;
using System.Globalization;

namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>Watching a running TorchSharpTraining process: the last step it printed, and bounded waits.</summary>
internal static class SampleWait
{
    /// <summary>The last <c>step N</c> line on the sample's stdout, or -1.</summary>
    public static long LastPrintedStep(RunningProcess sample) =>
        sample.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("step ", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture))
            .DefaultIfEmpty(-1)
            .Last();

    /// <summary>Bounded polling: no timing assertion, only a generous limit after which the test fails with the sample's output.</summary>
    public static void Until(Func<bool> condition, string what, RunningProcess sample, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.False(sample.HasExited, $"The sample exited while waiting for {what}.\n{sample}");
            Assert.True(clock.Elapsed < patience, $"Timed out waiting for {what}.\n{sample}");
            Thread.Sleep(50);
        }
    }
}
