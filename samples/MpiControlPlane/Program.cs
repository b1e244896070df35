using System.Globalization;
using MpiControlPlane;
using RuntimeCtl;
using RuntimeCtl.Mpi;

// Data-parallel training over MPI, steered through a RuntimeCtl queue directory: every rank trains a copy of the
// same model on its own shard, gradients are averaged with an all-reduce every step, and every rank applies the
// same commands at the same step, so all ranks end with bit-identical parameters.
var options = ControlPlaneOptions.Parse(args);
if (options.Error is { } error)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(ControlPlaneOptions.Usage);
    return 2;
}

MpiProcessGroup group;
try
{
    group = MpiProcessGroup.Initialize();
}
catch (ProcessGroupException e)
{
    Console.Error.WriteLine("MpiControlPlane: " + e.Message);
    return 2;
}

using (group)
{
    var state = new TrainingState(new MlpModel(options.Seed, group.Rank), group.Rank, options.FailRank);
    RuntimeController<TrainingState> Create()
    {
        var rt = new RuntimeController<TrainingState>(new RuntimeControllerOptions { AllowSharedQueue = options.AllowShared, OnDiagnostic = RuntimeDiagnostic.WriteToStandardError }.UseMpi());
        ControlPlaneControls.RegisterAll(rt, state);
        try
        {
            return rt.Configure(options.Queue!);
        }
        catch (RuntimeCtlException e)
        {
            // Rank 0 alone touches the queue directory, so it alone fails for an unsafe one. Exit without MPI_Finalize: the
            // other ranks wait in the first poll, and mpirun ends the job when a rank exits without finalizing.
            Console.Error.WriteLine($"MpiControlPlane: rank {group.Rank}: {e.Message}");
            Console.Error.Flush();
            Environment.Exit(2);
            throw;
        }
    }

    if (options.Bench)
    {
        PollBench.Run(group, Create, state, options.Steps!.Value);
        return 0;
    }

    using var rt = Create();
    if (group.Rank == 0)
    {
        Console.WriteLine($"MpiControlPlane: {group.Size} rank(s), {options.Steps} steps; steer it with: runtimectl -q {rt.QueueDirectory} optimizer.lr.multiplier 0.5");
    }

    var lastReport = Environment.TickCount64;
    for (long step = 0; step < options.Steps; step++)
    {
        state.Step = step;
        if (step == options.CrashStep && group.Rank == options.CrashRank)
        {
            Console.WriteLine($"rank {group.Rank} crashing at step {step}");
            Console.Out.Flush();
            Environment.Exit(3);
        }

        // The poll comes before the step's forward pass, so an applied command shapes this step on every rank.
        _ = options.EverySeconds is { } seconds
            ? rt.PollAndApply(state, seconds, step)
            : rt.PollAndApplyAtStep(state, step, options.EverySteps ?? 1);
        state.Model.Backward(step, state.Dropout);
        group.AllReduceSum(state.Model.Gradient);
        var loss = state.Model.Step(state.Lr, group.Size);
        if (group.Rank == 0 && Environment.TickCount64 - lastReport >= 2000)
        {
            lastReport = Environment.TickCount64;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step} loss {loss:G6} lr {state.Lr:R} dropout {state.Dropout:G4}"));
        }

        if (options.StepDelayMs > 0)
        {
            Thread.Sleep(options.StepDelayMs);
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {group.Rank} checksum {state.Model.Checksum()} lr {state.Lr:R}"));
    return 0;
}
