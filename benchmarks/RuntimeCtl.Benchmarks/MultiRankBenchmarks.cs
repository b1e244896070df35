using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// The multi-rank poll over <see cref="ProcessGroup.CreateInProcess(int)"/> with 2 ranks (threads). The benchmark thread
/// is rank 0; rank 1 runs on its own thread and makes the same calls, since a due poll is a collective.
/// </summary>
[MemoryDiagnoser]
public class MultiRankBenchmarks : IDisposable
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly BenchContext _context0 = new();
    private readonly BenchContext _context1 = new();
    private TempQueueDirectory? _queue;
    private RuntimeController<BenchContext>? _rank0;
    private RuntimeController<BenchContext>? _rank1;
    private Thread? _peer;
    private long _step;

    [GlobalSetup(Target = nameof(Ranks2_Poll_NotDue_StepBased))]
    public void SetupNotDueStepBased() => Setup(peerLoop: null);

    [GlobalSetup(Target = nameof(Ranks2_Poll_DueEmpty_StepBased))]
    public void SetupDueEmpty() => Setup(peerLoop: static (rt, ctx) =>
    {
        for (long step = 2; ; step++)
        {
            rt.PollAndApplyAtStep(ctx, step, everySteps: 1);
        }
    });

    [GlobalSetup(Target = nameof(Ranks2_Poll_NotDue_TimeBased))]
    public void SetupNotDueTimeBased() => Setup(peerLoop: static (rt, ctx) =>
    {
        while (true)
        {
            rt.PollAndApply(ctx, Hour);
        }
    });

    /// <summary>Step-based and not due: every rank decides from the step alone, no collective.</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Ranks2_Poll_NotDue_StepBased() => _rank0!.PollAndApplyAtStep(_context0, _step, everySteps: int.MaxValue);

    /// <summary>Step-based, due on every step, nothing queued: rank 0 checks the queue and broadcasts "nothing".</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Ranks2_Poll_DueEmpty_StepBased() => _rank0!.PollAndApplyAtStep(_context0, ++_step, everySteps: 1);

    /// <summary>Time-based and not due: rank 0 decides for everyone, so even a poll that is not due is a broadcast.</summary>
    [Benchmark]
    public IReadOnlyList<Ack> Ranks2_Poll_NotDue_TimeBased() => _rank0!.PollAndApply(_context0, Hour);

    [GlobalCleanup]
    public void Dispose()
    {
        // The peer thread is a background thread blocked in the group's barrier: it ends with the process.
        _rank0?.Dispose();
        _rank1?.Dispose();
        _queue?.Dispose();
        _rank0 = _rank1 = null;
        _queue = null;
        GC.SuppressFinalize(this);
    }

    private void Setup(Action<RuntimeController<BenchContext>, BenchContext>? peerLoop)
    {
        _queue = new TempQueueDirectory("ranks");
        var groups = ProcessGroup.CreateInProcess(2);
        _rank0 = BenchContext.Controller(_queue.Path, BenchContext.Options(groups[0]));
        _rank1 = BenchContext.Controller(_queue.Path, BenchContext.Options(groups[1]));

        // The first poll of each kind is due on both ranks: a collective, so rank 1 makes it on its own thread.
        var rank1 = _rank1;
        var context1 = _context1;
        _peer = new Thread(() =>
        {
            rank1.PollAndApplyAtStep(context1, 1, everySteps: int.MaxValue);
            rank1.PollAndApply(context1, Hour);
            peerLoop?.Invoke(rank1, context1);
        })
        { IsBackground = true, Name = "rank 1" };
        _peer.Start();
        _step = 1;
        _rank0.PollAndApplyAtStep(_context0, _step, everySteps: int.MaxValue);
        _rank0.PollAndApply(_context0, Hour);
        if (peerLoop is null)
        {
            _peer.Join();
        }
    }
}
