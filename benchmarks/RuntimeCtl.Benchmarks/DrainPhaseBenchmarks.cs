using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// <see cref="DrainBenchmarks.Poll_Drain100k"/> taken apart: the engine's two phases on one batch of the trivial
/// control's commands (one batch of 1,024 lines), each measured alone, the phases
/// before it done in <c>IterationSetup</c>. Figures are per command (<c>OperationsPerInvoke</c>).
/// <c>Plan</c> reads, parses and sorts the lines; <c>Apply</c> records, binds and runs each control and writes
/// the acks, builds the returned <see cref="Ack"/> objects, flushes and saves the cursor.
/// </summary>
[MemoryDiagnoser]
public class DrainPhaseBenchmarks : IDisposable
{
    private const int Backlog = QueueEngine<BenchContext>.BatchLines; // one batch, whose records fit the journal

    private readonly BenchContext _context = new();
    private byte[] _backlog = [];
    private TempQueueDirectory? _queue;
    private QueueEngine<BenchContext>? _engine;
    private List<Slot>? _plan;

    [GlobalSetup]
    public void Setup() => _backlog = new CommandLines().Block(Backlog);

    [IterationSetup(Target = nameof(Drain_1_ReadAndPlan))]
    public void SetupPrepare() => Fresh();

    [IterationSetup(Target = nameof(Drain_2_Apply))]
    public void SetupApply()
    {
        Fresh();
        _plan = _engine!.Plan(null, Environment.TickCount64, Backlog);
    }

    [Benchmark(OperationsPerInvoke = Backlog)]
    public int Drain_1_ReadAndPlan() => Check(_engine!.Plan(null, Environment.TickCount64, Backlog).Count);

    /// <summary>Per command: its write-ahead record, the control, its ack (the acks flushed once, the cursor saved).</summary>
    [Benchmark(OperationsPerInvoke = Backlog)]
    public int Drain_2_Apply() => Check(_engine!.Apply(_context, _plan!, null).Count);

    [IterationCleanup]
    public void Cleanup()
    {
        _engine?.Dispose();
        _queue?.Dispose();
        _engine = null;
        _queue = null;
        _plan = null;
    }

    public void Dispose()
    {
        Cleanup();
        GC.SuppressFinalize(this);
    }

    private static int Check(int count) => count == Backlog ? count : throw new InvalidOperationException($"One batch held {count} commands, expected {Backlog}: the engine's batch budget changed.");

    private void Fresh()
    {
        Cleanup();
        _queue = new TempQueueDirectory("phases");
        var queue = new QueueDirectory(_queue.Path);
        queue.EnsureCreated(allowShared: false);
        File.WriteAllBytes(queue.Commands, _backlog);
        Action<BenchContext, object?[]> noop = static (ctx, _) => ctx.Applied++;
        var controls = new Dictionary<string, Control<BenchContext>>(StringComparer.Ordinal)
        {
            ["noop"] = new PositionalControl<BenchContext>("noop", noop, [], null, noop, null, null),
        };
        _engine = new QueueEngine<BenchContext>(queue, BenchContext.Options(), controls);
        _engine.Start();
    }
}
