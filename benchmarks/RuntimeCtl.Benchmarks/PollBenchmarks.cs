using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// The hot path: <c>PollAndApply</c> inside a training step, when it is not due (the common case) and when it is
/// due but nothing was queued. One controller, one rank, a real queue directory.
/// </summary>
[MemoryDiagnoser]
public class PollBenchmarks : IDisposable
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly BenchContext _context = new();
    private TempQueueDirectory? _queue;
    private RuntimeController<BenchContext>? _rt;
    private long _step;

    [GlobalSetup]
    public void Setup()
    {
        _queue = new TempQueueDirectory("poll");
        var options = BenchContext.Options();
        options.PollInterval = Hour;
        _rt = BenchContext.Controller(_queue.Path, options);

        // The first poll of each kind is due; every later one in the not-due benchmarks is not.
        _rt.PollAndApply(_context, Hour);
        _step = 1;
        _rt.PollAndApplyAtStep(_context, _step, everySteps: int.MaxValue);
    }

    /// <summary>Time-based, not due: the <see cref="TimeSpan"/> overload (one coarse monotonic tick read and a compare).</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Poll_NotDue_TimeBased() => _rt!.PollAndApply(_context, Hour);

    /// <summary>Time-based, not due, through the overload most loops use: the options' interval.</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Poll_NotDue_TimeBased_DefaultInterval() => _rt!.PollAndApply(_context);

    /// <summary>Time-based, not due, through the <c>double everySeconds</c> overload (the original's signature).</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Poll_NotDue_TimeBased_Seconds() => _rt!.PollAndApply(_context, 3600.0);

    /// <summary>Step-based, not due: one subtraction and one compare, no clock.</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Poll_NotDue_StepBased() => _rt!.PollAndApplyAtStep(_context, _step, everySteps: int.MaxValue);

    /// <summary>Due on every call (interval zero), nothing queued: what every real poll costs when no one sent anything.</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Poll_DueEmpty() => _rt!.PollAndApply(_context, TimeSpan.Zero);

    /// <summary>Due on every call (every step), nothing queued.</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Poll_DueEmpty_StepBased() => _rt!.PollAndApplyAtStep(_context, ++_step, everySteps: 1);

    [GlobalCleanup]
    public void Dispose()
    {
        _rt?.Dispose();
        _queue?.Dispose();
        _rt = null;
        _queue = null;
        GC.SuppressFinalize(this);
    }
}
