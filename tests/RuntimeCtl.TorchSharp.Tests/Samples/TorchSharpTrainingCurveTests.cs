using System.Globalization;
using System.Text.Json;
using RuntimeCtl.TorchSharp.Tests.Support;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>
/// The sample's curve answers its commands: a short run of the real sample, steered with commands queued for set
/// steps, shows on its validation loss what the README promises a person would see on the dashboard.
/// </summary>
public sealed class TorchSharpTrainingCurveTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private readonly TempDirectory _temp = new();

    private string Queue => _temp.Combine("queue");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Sample_TooHighLearningRateThenLoadCheckpoint_LossJumpsThenReturnsToTheSavedCurve()
    {
        // Arrange: save at 200, a learning rate 50 times the default from 250, back to the checkpoint at 350.
        CommandSender.Enqueue(Queue, "save_ckpt", kwargs: [new("label", "before")], atStep: 200);
        CommandSender.Enqueue(Queue, "optimizer.lr", [0.05], atStep: 250);
        CommandSender.Enqueue(Queue, "load_ckpt", kwargs: [new("label", "before")], atStep: 350);

        // Act: 350 steps, the load (back to step 200), then 200 more.
        var (validation, summary) = Run(Queue, "--steps", "400", "--eval-every", "50", "--log-every", "50");

        // Assert: validation is scored at 200 (saved), 250, then 300 and 350 with lr 0.05; after the load at 250,
        // 300, 350 and 400 again, on the saved curve.
        Assert.Equal([50L, 100, 150, 200, 250, 300, 350, 250, 300, 350, 400], validation.Select(v => v.Step));
        var beforeJump = validation[4].Loss;
        var jumped = validation[5].Loss;
        var reloaded = validation[7].Loss;
        Assert.True(validation[0].Loss > validation[3].Loss, $"The loss did not fall before the commands: {Describe(validation)}");
        Assert.True(jumped > beforeJump + 0.3, $"lr 0.05 did not make the loss jump: {Describe(validation)}");
        Assert.True(Math.Abs(reloaded - beforeJump) < 0.05 && reloaded < jumped - 0.3, $"load_ckpt did not return to the saved curve: {Describe(validation)}");
        Assert.Equal(0.001, summary.GetProperty("lr").GetDouble());
        Assert.Equal(400, summary.GetProperty("steps").GetInt64());
        Assert.Equal(550, summary.GetProperty("steps_run").GetInt64());
        Assert.InRange(summary.GetProperty("val_accuracy").GetDouble(), 0.05, 1);
        Assert.Equal(validation[^1].Loss, summary.GetProperty("final_val_loss").GetDouble(), 5);
    }

    [Fact]
    public void Sample_DropoutRaised_TrainingLossRisesAboveValidation()
    {
        // Act: the same run twice, dropout 0.1 set to 0 in one and to 0.9 in the other at step 400. The training
        // loss (its mean over steps 401..450) is measured with dropout on, the validation loss at 450 without it.
        var gapWithout = TrainMinusValidationAt450(dropout: 0, "off");
        var gapWith = TrainMinusValidationAt450(dropout: 0.9, "high");

        // Assert: high dropout lifts the training loss above the validation loss, by more than the noise.
        Assert.True(gapWith > gapWithout + 0.1, $"dropout 0.9 did not widen the train/validation gap: {gapWithout:F3} (p 0) vs {gapWith:F3} (p 0.9)");
    }

    [Fact]
    public void Sample_StepsNotAMultipleOfEvalEvery_AlsoScoresTheLastStep()
    {
        // Act: 30 steps, scored every 20.
        var (_, summary) = Run(Queue, "--steps", "30", "--eval-every", "20", "--log-every", "20");

        // Assert: validation at 20 and at the last step, 30; the summary's figures are the last evaluation's.
        var scored = Metrics(Queue, "val_loss");
        Assert.Equal([20L, 30], scored.Keys.Order());
        Assert.Equal(scored[30], summary.GetProperty("final_val_loss").GetDouble(), 5);
        Assert.Equal(Metrics(Queue, "val_accuracy")[30], summary.GetProperty("val_accuracy").GetDouble(), 5);
        Assert.Equal([20L, 30], Metrics(Queue, "train_loss").Keys.Order());
    }

    private double TrainMinusValidationAt450(double dropout, string name)
    {
        var queue = _temp.Combine(name);
        CommandSender.Enqueue(queue, "model.dropout.p", [dropout], atStep: 400);
        var (validation, _) = Run(queue, "--steps", "450", "--eval-every", "50", "--log-every", "50");
        return Metrics(queue, "train_loss")[450] - validation.Single(v => v.Step == 450).Loss;
    }

    private static (List<(long Step, double Loss)> Validation, JsonElement Summary) Run(string queue, params string[] options)
    {
        var result = ChildProcess.RunDotnet(TestPaths.TorchSharpTraining, ["--queue", queue, "--seed", "7", "--threads", "1", .. options], Timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var validation = new List<(long, double)>();
        foreach (var line in lines.Where(l => l.StartsWith("step ", StringComparison.Ordinal)))
        {
            // step N loss L lr X val_loss V
            var words = line.Split(' ');
            Assert.Equal(8, words.Length);
            Assert.Equal("val_loss", words[6]);
            validation.Add((long.Parse(words[1], CultureInfo.InvariantCulture), double.Parse(words[7], CultureInfo.InvariantCulture)));
        }

        return (validation, JsonDocument.Parse(lines[^1]).RootElement.Clone());
    }

    // The points the sample reported under one name to the queue's metrics file (train_loss: the mean over the steps
    // since the last evaluation), by step; a later point at the same step replaces an earlier one.
    private static Dictionary<long, double> Metrics(string queue, string name)
    {
        var points = new Dictionary<long, double>();
        foreach (var line in File.ReadLines(Path.Combine(queue, "metrics.jsonl")))
        {
            using var metric = JsonDocument.Parse(line);
            if (metric.RootElement.GetProperty("name").GetString() == name)
            {
                points[metric.RootElement.GetProperty("step").GetInt64()] = metric.RootElement.GetProperty("value").GetDouble();
            }
        }

        return points;
    }

    private static string Describe(List<(long Step, double Loss)> validation) =>
        string.Join(", ", validation.Select(v => string.Create(CultureInfo.InvariantCulture, $"{v.Step}:{v.Loss:F3}")));
}
