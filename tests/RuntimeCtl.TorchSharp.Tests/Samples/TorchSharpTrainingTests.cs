using System.Text.Json;
using RuntimeCtl.TorchSharp.Tests.Support;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>Runs the built TorchSharpTraining sample as a real process, as a user would.</summary>
public sealed class TorchSharpTrainingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void Sample_FiveSteps_StartsAndPrintsTheJsonSummary()
    {
        // Act: stdout is redirected, so the sample prints plain lines.
        var result = ProcessRunner.Run(TestPaths.DotnetHost, [TestPaths.SampleAssembly, "--steps", "5", "--log-every", "1"], Timeout);

        // Assert
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(5, lines.Count(l => l.StartsWith("step ", StringComparison.Ordinal)));
        Assert.StartsWith("step 5 loss ", lines[^2], StringComparison.Ordinal);
        using var summary = JsonDocument.Parse(lines[^1]);
        Assert.Equal(5, summary.RootElement.GetProperty("steps").GetInt64());
        Assert.True(double.IsFinite(summary.RootElement.GetProperty("final_loss").GetDouble()));
        Assert.Equal(0.001, summary.RootElement.GetProperty("lr").GetDouble());
    }

    [Fact]
    public void Sample_UnknownOption_ExitsWithTwoAndSaysWhy()
    {
        var result = ProcessRunner.Run(TestPaths.DotnetHost, [TestPaths.SampleAssembly, "--stpes", "5"], Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown option '--stpes'", result.StandardError, StringComparison.Ordinal);
    }
}
