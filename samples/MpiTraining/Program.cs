using System.Globalization;
using System.Security.Cryptography;
using RuntimeCtl;
using RuntimeCtl.Mpi;
using RuntimeCtl.TorchSharp;
using RuntimeCtl.TorchSharp.Mpi;
using TorchSharp;
using static TorchSharp.torch;

// Data-parallel TorchSharp training over MPI, steered through a RuntimeCtl queue directory. Every rank holds a replica
// of the same model (BroadcastParameters), computes the gradient of its share of each global batch, and
// AverageGradients makes every rank step with the gradient of the whole batch; every rank applies the same commands
// (the standard TorchSharp controls) at the same step. So the replicas stay identical, and np=1 and np=2 compute the
// same updates up to float rounding.
//
//   mpirun -np 2 dotnet MpiTraining.dll --queue DIR [--steps N] [--global-batch B] [--seed S]
//          [--dropout P] [--step-delay-ms D] [--threads T] [--dump-parameters FILE] [--checkpoint-root DIR]
//
// save_ckpt is written by rank 0 (under --checkpoint-root, default DIR/checkpoints); load_ckpt is read by rank 0 and
// its files broadcast, so the other ranks need not see rank 0's disk.
var queue = Environment.GetEnvironmentVariable("RUNTIMECTL_QUEUE");
long steps = 2000;
int globalBatch = 64, seed = 7, stepDelayMs = 0, threads = 1;
double dropout = 0.1;
string? dump = null, checkpoints = null;
for (var i = 0; i < args.Length; i++)
{
    string Next() => ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
    switch (args[i])
    {
        case "--queue": queue = Next(); break;
        case "--steps": steps = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--global-batch": globalBatch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--dropout": dropout = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--step-delay-ms": stepDelayMs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--dump-parameters": dump = Next(); break;
        case "--checkpoint-root": checkpoints = Next(); break;
        default:
            Console.Error.WriteLine($"MpiTraining: unknown argument '{args[i]}'");
            return 2;
    }
}

if (string.IsNullOrEmpty(queue))
{
    Console.Error.WriteLine("MpiTraining: give --queue DIR (or set RUNTIMECTL_QUEUE)");
    return 2;
}

using var group = MpiProcessGroup.Initialize();
if (globalBatch % group.Size != 0)
{
    Console.Error.WriteLine($"MpiTraining: --global-batch {globalBatch} must be a multiple of the {group.Size} ranks");
    return 2;
}

torch.set_num_threads(threads);
manual_seed(seed + group.Rank); // replicas start different on purpose: BroadcastParameters makes them rank 0's

// A regression set every rank builds alike: 4,096 points of 8 features, the target a fixed smooth function of them.
var data = new Generator((ulong)seed);
var inputs = randn(4096, 8, generator: data);
var teacher = randn(8, 1, generator: data);
var targets = sin(inputs.matmul(teacher)) + (0.5 * inputs[.., 0..1]);

var model = nn.Sequential(("fc1", nn.Linear(8, 64)), ("relu", nn.ReLU()), ("drop", nn.Dropout(dropout)), ("fc2", nn.Linear(64, 1)));
var optimizer = optim.AdamW(model.parameters(), lr: 1e-3, weight_decay: 0.01);
var parallel = new DataParallel(model, group);
parallel.BroadcastParameters();

var loop = new TorchSharpLoop(model, optimizer);
using var rt = new RuntimeController<TorchSharpLoop>(new RuntimeControllerOptions { OnDiagnostic = RuntimeDiagnostic.WriteToStandardError }.UseMpi())
    .AddTorchSharpControls(loop, new TorchSharpControlsOptions { CheckpointRoot = checkpoints ?? Path.Combine(queue, "checkpoints") })
    .Configure(queue);
if (group.Rank == 0)
{
    Console.WriteLine($"MpiTraining: {group.Size} rank(s), global batch {globalBatch}, {steps} steps; steer it with: runtimectl -q {rt.QueueDirectory} optimizer.lr 0.0005");
}

var local = globalBatch / group.Size;
var loss = double.NaN;
while (loop.Step < steps)
{
    foreach (var ack in rt.PollAndApplyAtStep(loop, loop.Step))
    {
        // Acks come back on rank 0; every rank applied the same commands.
        Console.WriteLine($"[step {ack.Step}] {ack.Path} {ack.Status}{(ack.Error is { } error ? ": " + error : string.Empty)}");
    }

    if (loop.IsPaused && !loop.StopRequested)
    {
        loop.WaitWhilePaused(loop);
    }

    if (loop.StopRequested)
    {
        break;
    }

    using (NewDisposeScope())
    {
        // The same global batch on every rank (a generator seeded by the step); each rank takes its slice of it.
        var batch = randint(0, inputs.shape[0], [globalBatch], generator: new Generator((ulong)(seed * 1_000_003L + loop.Step)));
        var mine = batch[(group.Rank * local)..((group.Rank + 1) * local)];
        model.train();
        optimizer.zero_grad();
        var output = nn.functional.mse_loss(model.forward(inputs[mine]), targets[mine]);
        output.backward();
        parallel.AverageGradients(); // now every rank holds the gradient of the whole global batch
        loop.ClipGradients();
        optimizer.step();
        loss = output.item<float>();
    }

    loop.Step++;
    if (group.Rank == 0)
    {
        rt.Report(loop.Step, "loss", loss);
        rt.Report(loop.Step, "lr", optimizer.ParamGroups.First().LearningRate);
    }

    if (stepDelayMs > 0)
    {
        Thread.Sleep(stepDelayMs);
    }
}

var lr = optimizer.ParamGroups.First().LearningRate;
using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
foreach (var parameter in model.parameters())
{
    hash.AppendData(parameter.contiguous().bytes);
}

if (dump is not null && group.Rank == 0)
{
    File.WriteAllLines(dump, model.parameters().SelectMany(p => p.contiguous().data<float>().ToArray()).Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}

if (group.Rank == 0)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"steps\":{loop.Step},\"ranks\":{group.Size},\"global_batch\":{globalBatch},\"final_loss\":{loss:R},\"lr\":{lr:R},\"stopped_by_command\":{(loop.StopRequested ? "true" : "false")},\"checkpoints\":{loop.SavedCheckpoints.Count}}}"));
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {group.Rank} checksum {Convert.ToHexStringLower(hash.GetHashAndReset())[..16]} lr {lr:R}"));
return 0;
