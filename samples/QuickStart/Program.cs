using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using QuickStart;
using RuntimeCtl;

// A tiny but real training loop: linear regression on synthetic data by gradient descent with input dropout,
// steered at run time through a RuntimeCtl queue directory.
var options = QuickStartOptions.Parse(args);
if (options.Error is { } error)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(QuickStartOptions.Usage);
    return 2;
}

var state = new TrainingState { Record = options.Record };
using var rt = new RuntimeController<TrainingState>(new RuntimeControllerOptions
{
    AllowSharedQueue = options.AllowShared,
    Durability = options.PowerLossSafe ? RuntimeDurability.PowerLossSafe : RuntimeDurability.KillSafe,
    OnDiagnostic = RuntimeDiagnostic.WriteToStandardError,
});
QuickStartControls.RegisterAll(rt, state);
try
{
    rt.Configure(options.Queue!);
}
catch (RuntimeCtlException e)
{
    Console.Error.WriteLine("QuickStart: " + e.Message);
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});

if (options.Once)
{
    // One poll applies at most MaxCommandsPerPoll commands (10,000 by default); a longer backlog takes several.
    do
    {
        rt.PollAndApply(state, TimeSpan.Zero);
    }
    while (rt.HasBacklog);
}
else
{
    var model = new RegressionModel(seed: 7);
    var lastReport = Environment.TickCount64;
    if (options.Steps is null)
    {
        Console.WriteLine($"QuickStart: training until Ctrl-C; steer it with: runtimectl -q {options.Queue} optimizer.lr.multiplier 0.5");
    }

    for (long step = 0; (options.Steps is null || step < options.Steps) && !stop.IsCancellationRequested; step++)
    {
        var loss = model.Step(state.Lr, state.Dropout);
        rt.Report(step, "loss", loss);
        rt.Report(step, "lr", state.Lr);
        _ = options.EverySteps is { } k
            ? rt.PollAndApplyAtStep(state, step, k)
            : rt.PollAndApply(state, options.EverySeconds);
        if (Environment.TickCount64 - lastReport >= 2000)
        {
            lastReport = Environment.TickCount64;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step} loss {loss:G6} lr {state.Lr:G6} dropout {state.Dropout:G4}"));
        }

        if (options.StepDelayMs > 0)
        {
            stop.Token.WaitHandle.WaitOne(options.StepDelayMs);
        }
    }
}

rt.FlushMetrics();
Console.WriteLine(JsonSerializer.Serialize(new FinalState(state.Lr, state.Dropout, state.Ckpts), QuickStartJson.Default.FinalState));
return 0;
