using System.Text.Json;
using RuntimeCtl.TorchSharp.Tests.Support;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>
/// Steers the running TorchSharpTraining sample with the real runtimectl command, as a person in another shell
/// would: pause, check that the step stands still, resume, and stop with a checkpoint.
/// </summary>
public sealed class TorchSharpTrainingControlTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _temp = new();

    private string Queue => _temp.Combine("queue");

    [Fact]
    public void Sample_PauseResumeStopThroughTheCli_PausesResumesAndExitsWithACheckpoint()
    {
        // Arrange: the sample polls every step and prints a plain line for every step.
        using var sample = ChildProcess.StartDotnet(TestPaths.TorchSharpTraining, ["--queue", Queue, "--step-delay-ms", "20", "--log-every", "1"]);
        Eventually.Until(() => ControllerStep() >= 3, "the sample to start polling", Patience, sample);

        // Act 1: pause, and watch the trainer poll on at the same step.
        var pause = RunCli(sample, "train.pause");
        var pausedAt = pause.GetProperty("step").GetInt64();
        var pausedTs = pause.GetProperty("ts").GetDouble();
        var pollsSeen = new HashSet<double>();
        Eventually.Until(
            () =>
            {
                // controller.json is rewritten about once a second; only versions newer than the ack count.
                var (step, lastPoll) = Controller();
                if (lastPoll > pausedTs)
                {
                    Assert.Equal(pausedAt, step);
                    pollsSeen.Add(lastPoll);
                }

                return pollsSeen.Count >= 2;
            },
            "two controller.json updates while paused",
            Patience,
            sample);

        // Assert 1: polls went on, no step ran after the one the pause was applied at.
        Assert.Equal(pausedAt, SampleWait.LastPrintedStep(sample));

        // Act 2: resume, and wait for the steps to move on.
        RunCli(sample, "train.resume");
        Eventually.Until(() => ControllerStep() > pausedAt + 2, "the steps to advance after train.resume", Patience, sample);

        // Act 3: stop with a checkpoint.
        var stop = RunCli(sample, "train.stop", "--kwargs", "{\"save\":true}");
        var ended = sample.WaitForExit(Patience);

        // Assert: a clean exit, a summary that says so, and the checkpoint at the step the stop was applied at.
        Assert.True(ended.ExitCode == 0, ended.ToString());
        var lines = ended.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var summary = JsonDocument.Parse(lines[^1]);
        var root = summary.RootElement;
        var stoppedAt = stop.GetProperty("step").GetInt64();
        Assert.True(root.GetProperty("stopped_by_command").GetBoolean(), lines[^1]);
        Assert.False(root.GetProperty("interrupted").GetBoolean());
        Assert.Equal(stoppedAt, root.GetProperty("steps").GetInt64());
        var checkpoint = Assert.Single(root.GetProperty("checkpoints").EnumerateArray()).GetString()!;
        Assert.Equal(Path.Combine(Queue, "checkpoints", $"step-{stoppedAt}"), checkpoint);
        Assert.Equal(stoppedAt, TorchSharpCheckpoint.ReadInfo(checkpoint).Step);
        Assert.Contains($"[step {pausedAt}] train.resume applied", sample.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();

    // Sends one command with --wait and returns its ack, which must say applied.
    private JsonElement RunCli(ChildProcess sample, string path, params string[] more)
    {
        var result = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", Queue, path, .. more, "--wait", "--timeout", "60"],
            Patience + Patience);
        Assert.True(result.ExitCode == 0, $"runtimectl {path}: {result}\n{sample}");
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var ack = JsonDocument.Parse(lines[1]);
        Assert.Equal("applied", ack.RootElement.GetProperty("status").GetString());
        return ack.RootElement.Clone();
    }

    private (long Step, double LastPoll) Controller()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Queue, "controller.json")));
        var root = document.RootElement;
        var step = root.GetProperty("step");
        return (step.ValueKind == JsonValueKind.Number ? step.GetInt64() : -1, root.GetProperty("last_poll_ts").GetDouble());
    }

    private long ControllerStep() => File.Exists(Path.Combine(Queue, "controller.json")) ? Controller().Step : -1;
}
