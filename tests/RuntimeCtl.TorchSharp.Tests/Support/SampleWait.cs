using System.Globalization;

namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>Watching a running TorchSharpTraining process (waits go through <see cref="Eventually"/>).</summary>
internal static class SampleWait
{
    /// <summary>The last <c>step N</c> line on the sample's stdout, or -1.</summary>
    public static long LastPrintedStep(ChildProcess sample) =>
        sample.StdoutLines
            .Where(l => l.StartsWith("step ", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture))
            .DefaultIfEmpty(-1)
            .Last();
}
