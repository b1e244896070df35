using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using RuntimeCtl;
using RuntimeCtl.TorchSharp;
using TorchSharp;
using OpenTelemetry.Metrics;
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

using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C ends the loop after the current step, so the summary is still printed; a second one kills.
    e.Cancel = !interrupt.IsCancellationRequested;
    interrupt.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
{
    signal.Cancel = true;
    interrupt.Cancel();
});

// Observability: the RuntimeCtl meter (and the runtime's) in the Prometheus format, through the OpenTelemetry SDK.
using var meters = options.MetricsPort is { } metricsPort
    ? OpenTelemetry.Sdk.CreateMeterProviderBuilder()
        .AddMeter(RuntimeTelemetry.MeterName)
        .AddRuntimeInstrumentation()
        .AddPrometheusHttpListener(listener =>
        {
            listener.Host = "127.0.0.1";
            listener.Port = metricsPort;
        })
        .Build()
    : null;

using var trainer = new Trainer(options.Seed);
var loop = new TorchSharpLoop(trainer.Model, trainer.Optimizer, trainer.GradientClip);

using var rt = options.NoControl ? null : new RuntimeController<TorchSharpLoop>(new RuntimeControllerOptions { OnDiagnostic = RuntimeDiagnostic.WriteToStandardError });
if (rt is not null)
{
    rt.AddTorchSharpControls(loop);
    try
    {
        rt.Configure(options.Queue);
    }
    catch (RuntimeCtlException ex)
    {
        Console.Error.WriteLine(ex.Message);
        return 1;
    }

    if (options.TensorBoard is { } logDirectory)
    {
        // Loss and lr as scalars, every ack as text at its step: 'tensorboard --logdir DIR' shows what changed the curve.
        // TorchSharp's SummaryWriter writes each event as it is added; it has nothing to close.
        rt.MirrorToTensorBoard(torch.utils.tensorboard.SummaryWriter(logDirectory, createRunName: false));
    }

    Console.Error.WriteLine($"Polling {rt.QueueDirectory} every step. Steer from another shell, e.g.: runtimectl -q {rt.QueueDirectory} optimizer.lr 0.0005");
}

// The clock starts here, so that steps/s measures the training loop and not the start-up.
var reporter = new ProgressReporter(Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, options.Steps, options.LogEvery);
var loss = double.NaN;
(double Loss, double Accuracy)? validation = null;
var (lossSum, lossCount) = (0.0, 0);
long polls = 0, pollTicks = 0;
while ((options.Steps is not { } total || loop.Step < total) && !interrupt.IsCancellationRequested)
{
    if (rt is not null)
    {
        // Poll before the step, so an applied command shapes the step that follows; acks carry the step.
        var before = Stopwatch.GetTimestamp();
        var acks = rt.PollAndApplyAtStep(loop, loop.Step);
        pollTicks += Stopwatch.GetTimestamp() - before;
        polls++;
        foreach (var ack in acks)
        {
            reporter.Event(Describe(ack));
        }

        if (loop.IsPaused && !loop.StopRequested)
        {
            reporter.Event($"[step {loop.Step}] paused; waiting for train.resume or train.stop");
            if (loop.WaitWhilePaused(loop, ack => reporter.Event(Describe(ack)), interrupt.Token))
            {
                reporter.Event($"[step {loop.Step}] resumed");
            }
        }

        if (loop.StopRequested || interrupt.IsCancellationRequested)
        {
            break;
        }
    }

    loss = trainer.Step();
    loop.Step++;
    lossSum += loss;
    lossCount++;
    if (loop.Step % options.EvalEvery == 0 || loop.Step == options.Steps)
    {
        // The held-out score next to the mean training loss since the last one: the two curves whose gap dropout moves.
        validation = trainer.Evaluate();
        reporter.ValidationLoss = validation.Value.Loss;
        rt?.Report(loop.Step, "train_loss", lossSum / lossCount);
        rt?.Report(loop.Step, "val_loss", validation.Value.Loss);
        rt?.Report(loop.Step, "val_accuracy", validation.Value.Accuracy);
        (lossSum, lossCount) = (0, 0);
    }

    reporter.Report(loop.Step, loss, trainer.LearningRate);
    if (rt is not null)
    {
        // For the dashboard (runtimectl serve): buffered, written about once a second.
        rt.Report(loop.Step, "loss", loss);
        rt.Report(loop.Step, "lr", trainer.LearningRate);
    }
    if (options.StepDelayMilliseconds > 0)
    {
        Thread.Sleep(options.StepDelayMilliseconds);
    }
}

reporter.Finish();
var pollMicroseconds = polls > 0 ? pollTicks * 1e6 / Stopwatch.Frequency / polls : (double?)null;
Console.WriteLine(Summary(loop, reporter, loss, validation, trainer.LearningRate, pollMicroseconds, stoppedBySignal: interrupt.IsCancellationRequested, ParametersSha256(trainer.Model)));
return 0;

static string Describe(Ack ack)
{
    var outcome = ack.Status == AckStatus.Applied
        ? "applied" + Json(ack.Args) + Json(ack.Kwargs)
        : $"{ack.Status.ToString().ToLowerInvariant()}: {ack.Error}";
    return string.Create(CultureInfo.InvariantCulture, $"[step {ack.Step}] {ack.Path} {outcome}");
}

static string Json(JsonElement? value) =>
    value is { } v && (v.ValueKind == JsonValueKind.Array ? v.GetArrayLength() > 0 : v.EnumerateObject().Any()) ? " " + v.GetRawText() : string.Empty;

// SHA-256 over the model's parameters in registration order, as raw bytes: two runs end with the same hash only if
// they end with bit-identical weights (the check of 'runtimectl replay').
static string ParametersSha256(torch.nn.Module model)
{
    using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
    foreach (var (name, parameter) in model.named_parameters())
    {
        hash.AppendData(Encoding.UTF8.GetBytes(name));
        using var cpu = parameter.detach().cpu().contiguous();
        hash.AppendData(cpu.bytes);
    }

    return Convert.ToHexStringLower(hash.GetHashAndReset());
}

static string Summary(TorchSharpLoop loop, ProgressReporter reporter, double loss, (double Loss, double Accuracy)? validation, double learningRate, double? pollMicroseconds, bool stoppedBySignal, string parametersSha256)
{
    using var buffer = new MemoryStream();
    using (var json = new Utf8JsonWriter(buffer))
    {
        json.WriteStartObject();
        json.WriteNumber("steps", loop.Step);
        json.WriteNumber("steps_run", reporter.StepsRun);
        WriteFiniteOrNull(json, "final_loss", loss);
        if (validation is { } v)
        {
            // The last evaluation on the held-out text (every --eval-every steps and at the last step).
            WriteFiniteOrNull(json, "final_val_loss", v.Loss);
            json.WriteNumber("val_accuracy", v.Accuracy);
        }

        json.WriteNumber("lr", learningRate);
        json.WriteNumber("steps_per_second", Math.Round(reporter.StepsPerSecond, 1));
        if (pollMicroseconds is { } us)
        {
            // The mean time of one PollAndApply call (including the commands it applied): the cost of steering.
            json.WriteNumber("poll_us_per_step", Math.Round(us, 2));
        }

        json.WriteStartArray("checkpoints");
        foreach (var checkpoint in loop.SavedCheckpoints)
        {
            json.WriteStringValue(checkpoint.Directory);
        }

        json.WriteEndArray();
        json.WriteBoolean("stopped_by_command", loop.StopRequested);
        json.WriteBoolean("interrupted", stoppedBySignal && !loop.StopRequested);
        json.WriteString("parameters_sha256", parametersSha256);
        json.WriteEndObject();
    }

    return Encoding.UTF8.GetString(buffer.ToArray());
}

// JSON has no NaN or infinity: a loss that diverged is written as null.
static void WriteFiniteOrNull(Utf8JsonWriter json, string name, double value)
{
    if (double.IsFinite(value))
    {
        json.WriteNumber(name, value);
    }
    else
    {
        json.WriteNull(name);
    }
}
