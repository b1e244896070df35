using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>The library's enqueue (<c>CommandSender.Enqueue</c>): checks, lock, append, flush, per command.</summary>
[MemoryDiagnoser]
public class EnqueueBenchmarks : IDisposable
{
    private static readonly object?[] Args = [0.5];
    private TempQueueDirectory? _queue;

    [GlobalSetup]
    public void Setup()
    {
        _queue = new TempQueueDirectory("enqueue");
        CommandSender.Enqueue(_queue.Path, "optimizer.lr.multiplier", Args);
    }

    /// <summary>The whole library call, as a script in the same process would make it.</summary>
    [Benchmark]
    public SentCommand Enqueue_Library() => CommandSender.Enqueue(_queue!.Path, "optimizer.lr.multiplier", Args);

    /// <summary>Only the serialisation of the line (the rest of <see cref="Enqueue_Library"/> is file-system work).</summary>
    [Benchmark]
    public byte[] Enqueue_SerializeOnly() => CommandSender.Serialize("5f0c7a1e-2b7d-4c59-9a8f-1c2d3e4f5a6b", DateTimeOffset.UnixEpoch, "optimizer.lr.multiplier", Args, null, null);

    [GlobalCleanup]
    public void Dispose()
    {
        _queue?.Dispose();
        _queue = null;
        GC.SuppressFinalize(this);
    }
}
