using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// The cost of <see cref="RuntimeControllerOptions.Durability"/>: 100 queued commands drained by one poll, each with
/// its write-ahead records and the batch's acks, without <c>fsync</c> (<see cref="RuntimeDurability.KillSafe"/>) and
/// with it (<see cref="RuntimeDurability.PowerLossSafe"/>: a flush per command and one per batch of acks). Every
/// iteration starts from a fresh queue directory (not measured). The figure depends on the disk: run it where the
/// queue will live.
/// </summary>
[MemoryDiagnoser]
public class DurabilityBenchmarks : IDisposable
{
    private const int Backlog = 100;

    private readonly BenchContext _context = new();
    private byte[] _backlog = [];
    private TempQueueDirectory? _queue;
    private RuntimeController<BenchContext>? _rt;

    [Params(RuntimeDurability.KillSafe, RuntimeDurability.PowerLossSafe)]
    public RuntimeDurability Durability { get; set; }

    [GlobalSetup]
    public void Setup() => _backlog = new CommandLines().Block(Backlog);

    [IterationSetup]
    public void IterationSetup()
    {
        Cleanup();
        _queue = new TempQueueDirectory("durability");
        File.WriteAllBytes(_queue.Commands, _backlog);
        var options = BenchContext.Options();
        options.Durability = Durability;
        _rt = BenchContext.Controller(_queue.Path, options);
    }

    [Benchmark]
    public int Poll_Drain100()
    {
        var acks = _rt!.PollAndApply(_context, TimeSpan.Zero);
        return acks.Count == Backlog ? acks.Count : throw new InvalidOperationException($"Drained {acks.Count} commands, expected {Backlog}.");
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _rt?.Dispose();
        _queue?.Dispose();
        _rt = null;
        _queue = null;
    }

    public void Dispose()
    {
        Cleanup();
        GC.SuppressFinalize(this);
    }
}
