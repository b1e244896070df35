using System.Text.Json;
using RuntimeCtl.TorchSharp.Tests.Support;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>Runs the built TorchSharpTraining sample as a real process, as a user would.</summary>
public sealed class TorchSharpTrainingTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private readonly TempDirectory _temp = new();

    private string Queue => _temp.Combine("queue");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Sample_FiveSteps_StartsAndPrintsTheJsonSummary()
    {
        // Act: stdout is redirected, so the sample prints plain lines.
        var result = ChildProcess.RunDotnet(TestPaths.TorchSharpTraining, ["--queue", Queue, "--steps", "5", "--log-every", "1"], Timeout);

        // Assert
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(5, lines.Count(l => l.StartsWith("step ", StringComparison.Ordinal)));
        Assert.StartsWith("step 5 loss ", lines[^2], StringComparison.Ordinal);
        using var summary = JsonDocument.Parse(lines[^1]);
        Assert.Equal(5, summary.RootElement.GetProperty("steps").GetInt64());
        Assert.True(double.IsFinite(summary.RootElement.GetProperty("final_loss").GetDouble()));
        Assert.Equal(0.001, summary.RootElement.GetProperty("lr").GetDouble());
        Assert.False(summary.RootElement.GetProperty("stopped_by_command").GetBoolean());
        Assert.Empty(summary.RootElement.GetProperty("checkpoints").EnumerateArray());
        Assert.True(File.Exists(Path.Combine(Queue, "controller.json")), "The sample did not poll its queue.");
        Assert.Contains($"Polling {Queue} every step", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_CommandsQueuedBeforeStart_AppliedAtStepZeroAndAcked()
    {
        // Arrange: commands waiting in the queue before the trainer starts, one of them refused.
        CommandSender.Enqueue(Queue, "optimizer.lr", [0.002]);
        CommandSender.Enqueue(Queue, "model.dropout.p", [1.5]);

        // Act
        var result = ChildProcess.RunDotnet(TestPaths.TorchSharpTraining, ["--queue", Queue, "--steps", "2"], Timeout);

        // Assert: the first step already trains with the new rate; the refusal is an ack and the run goes on.
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = File.ReadAllLines(Path.Combine(Queue, "acks.jsonl"));
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"status\":\"applied\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"step\":0", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"status\":\"failed\"", lines[1], StringComparison.Ordinal);
        Assert.Contains("[step 0] model.dropout.p failed: model.dropout.p must be a probability", result.Stderr, StringComparison.Ordinal);
        using var summary = JsonDocument.Parse(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal(0.002, summary.RootElement.GetProperty("lr").GetDouble());
    }

    [Fact]
    public void Sample_NoControl_TrainsWithoutTouchingAQueue()
    {
        var result = ChildProcess.RunDotnet(TestPaths.TorchSharpTraining, ["--queue", Queue, "--steps", "3", "--no-control"], Timeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(Directory.Exists(Queue));
        using var summary = JsonDocument.Parse(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal(3, summary.RootElement.GetProperty("steps").GetInt64());
    }

    [Fact]
    public void Sample_UnknownOption_ExitsWithTwoAndSaysWhy()
    {
        var result = ChildProcess.RunDotnet(TestPaths.TorchSharpTraining, ["--stpes", "5"], Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown option '--stpes'", result.Stderr, StringComparison.Ordinal);
    }
}
