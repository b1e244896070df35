using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// What <c>runtimectl status --last 20</c> reads (<see cref="QueueStatus.Read"/>, the CLI's own code), on a queue whose
/// <c>acks.jsonl</c> holds 100,000 or 1,000,000 acks and whose <c>controller.json</c> keeps the line counts, as a
/// running trainer leaves it. The files are written once per process by <see cref="StatusFixture"/>.
/// </summary>
[MemoryDiagnoser]
public class StatusBenchmarks : IDisposable
{
    private TempQueueDirectory? _queue;

    [Params(100_000, 1_000_000)]
    public int Acks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _queue = new TempQueueDirectory("status");
        StatusFixture.Write(_queue.Path, Acks);
    }

    /// <summary>The CLI's read: controller.json, both line counts (from the trainer's figures), the last 20 acks.</summary>
    [Benchmark]
    public int Status_Last20() => QueueStatus.Read(_queue!.Path, 20).Tail.Acks.Count;

    /// <summary>The same without the trainer's figures: both files are counted from their start.</summary>
    [Benchmark]
    public int Status_Last20_CountingWholeFiles() => QueueStatus.Read(_queue!.Path, 20, useControllerCounts: false).Tail.Acks.Count;

    /// <summary>Only the tail: the last 20 acks read backwards from the end of acks.jsonl.</summary>
    [Benchmark]
    public int AckTail_Last20() => AckTail.Read(_queue!.Acks, 20).Acks.Count;

    [GlobalCleanup]
    public void Dispose()
    {
        _queue?.Dispose();
        _queue = null;
        GC.SuppressFinalize(this);
    }
}
