using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// A due poll that finds 1 or 100 new commands of the trivial control: append them (one <c>pwrite</c> of ready-made
/// lines; the <c>Append_*_Only</c> benchmarks give its share), then poll, which reads, parses, applies and acks them.
/// Each iteration starts from a fresh queue directory and controller (not measured), so the files and the id set stay
/// as small as a real queue's; the invocation counts keep an iteration near a quarter of a second.
/// </summary>
[MemoryDiagnoser]
public class QueuedPollBenchmarks : IDisposable
{
    private readonly BenchContext _context = new();
    private TempQueueDirectory? _queue;
    private RuntimeController<BenchContext>? _rt;
    private Appender? _one;
    private Appender? _hundred;

    [IterationSetup]
    public void IterationSetup()
    {
        Cleanup();
        _queue = new TempQueueDirectory("queued");
        _rt = BenchContext.Controller(_queue.Path);
        _rt.PollAndApply(_context, TimeSpan.Zero);
        var lines = new CommandLines();
        _one = new Appender(_queue.Commands, lines, 1);
        _hundred = new Appender(_queue.Commands, lines, 100);
    }

    [Benchmark]
    [InvocationCount(4000)]
    public int Poll_1Command()
    {
        _one!.Append();
        return _rt!.PollAndApply(_context, TimeSpan.Zero).Count;
    }

    [Benchmark]
    [InvocationCount(100)]
    public int Poll_100Commands()
    {
        _hundred!.Append();
        return _rt!.PollAndApply(_context, TimeSpan.Zero).Count;
    }

    /// <summary>The append of <see cref="Poll_1Command"/> alone.</summary>
    [Benchmark]
    [InvocationCount(4000)]
    public void Append_1Command_Only() => _one!.Append();

    /// <summary>The append of <see cref="Poll_100Commands"/> alone.</summary>
    [Benchmark]
    [InvocationCount(1000)]
    public void Append_100Commands_Only() => _hundred!.Append();

    [IterationCleanup]
    public void Cleanup()
    {
        _one?.Dispose();
        _hundred?.Dispose();
        _rt?.Dispose();
        _queue?.Dispose();
        _one = _hundred = null;
        _rt = null;
        _queue = null;
    }

    public void Dispose()
    {
        Cleanup();
        GC.SuppressFinalize(this);
    }
}
