using System.Text;
using System.Text.Json;
using TorchSharp;
using TorchSharpTraining;

var options = TrainingOptions.Parse(args, out var errors);
if (options is null)
{
    foreach (var error in errors)
    {
        Console.Error.WriteLine(error);
    }

    Console.Error.WriteLine(TrainingOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(TrainingOptions.Usage);
    return 0;
}

// Small models on few cores train faster and steadier on one intra-op thread than on all of them.
torch.set_num_threads(options.Threads);

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C ends the loop after the current step, so the summary is still printed.
    e.Cancel = true;
    stop.Cancel();
};

using var trainer = new Trainer(options.Seed);
var reporter = new ProgressReporter(Console.Out, interactive: !Console.IsOutputRedirected, options.Steps, options.LogEvery);
long steps = 0;
var loss = double.NaN;
for (var step = 1L; step <= options.Steps && !stop.IsCancellationRequested; step++)
{
    // A RuntimeCtl controller polls here, before the step, so an applied command shapes the step that follows.
    loss = trainer.Step();
    steps = step;
    reporter.Report(step, loss, trainer.LearningRate);
    if (options.StepDelayMilliseconds > 0)
    {
        Thread.Sleep(options.StepDelayMilliseconds);
    }
}

reporter.Finish();
Console.WriteLine(Summary(steps, loss, trainer.LearningRate, reporter.StepsPerSecond(steps)));
return 0;

static string Summary(long steps, double loss, double learningRate, double stepsPerSecond)
{
    using var buffer = new MemoryStream();
    using (var json = new Utf8JsonWriter(buffer))
    {
        json.WriteStartObject();
        json.WriteNumber("steps", steps);
        if (double.IsFinite(loss))
        {
            json.WriteNumber("final_loss", loss);
        }
        else
        {
            json.WriteNull("final_loss");
        }

        json.WriteNumber("lr", learningRate);
        json.WriteNumber("steps_per_second", Math.Round(stepsPerSecond, 1));
        json.WriteEndObject();
    }

    return Encoding.UTF8.GetString(buffer.ToArray());
}
