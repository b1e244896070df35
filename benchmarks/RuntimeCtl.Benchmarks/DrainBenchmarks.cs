using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// A backlog of 100,000 commands of the trivial control, drained by one poll. Every iteration starts from a fresh queue
/// directory holding the backlog and a fresh controller (done in <c>IterationSetup</c>, not measured), so every
/// iteration really drains. Throughput is 100,000 / Mean.
/// </summary>
[MemoryDiagnoser]
public class DrainBenchmarks : IDisposable
{
    private const int Backlog = 100_000;

    private readonly BenchContext _context = new();
    private byte[] _backlog = [];
    private TempQueueDirectory? _queue;
    private RuntimeController<BenchContext>? _rt;

    [GlobalSetup]
    public void Setup() => _backlog = new CommandLines().Block(Backlog);

    [IterationSetup]
    public void IterationSetup()
    {
        Cleanup();
        _queue = new TempQueueDirectory("drain");
        File.WriteAllBytes(_queue.Commands, _backlog);
        _rt = BenchContext.Controller(_queue.Path);
    }

    [Benchmark]
    public int Poll_Drain100k()
    {
        // Polls of MaxCommandsPerPoll (10,000) commands each, until the backlog is gone.
        var drained = 0;
        do
        {
            drained += _rt!.PollAndApply(_context, TimeSpan.Zero).Count;
        }
        while (_rt.HasBacklog);

        return drained == Backlog ? drained : throw new InvalidOperationException($"Drained {drained} commands, expected {Backlog}.");
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
