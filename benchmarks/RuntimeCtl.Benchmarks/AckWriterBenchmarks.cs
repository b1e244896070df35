using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// Ack writing as the record stage does it (<c>AckWriter.Write</c>): one ack per command into the batch buffer (a
/// rejected ack: id, ts, path, op, status, error), then one write and one flush per batch. Each iteration writes a fresh <c>acks.jsonl</c>.
/// </summary>
[MemoryDiagnoser]
public class AckWriterBenchmarks : IDisposable
{
    private const int InvocationsPerIteration = 1000;

    private TempQueueDirectory? _queue;
    private AckWriter? _writer;
    private CommandLine[] _lines = [];

    [Params(1, 100)]
    public int AcksPerBatch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _queue = new TempQueueDirectory("acks");
        _lines = Enumerable.Range(0, AcksPerBatch)
            .Select(i => CommandLine.Parse(0, System.Text.Encoding.UTF8.GetBytes($"{{\"id\":\"{Guid.NewGuid():D}\",\"path\":\"noop\",\"op\":\"set\"}}")))
            .ToArray();
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _writer?.Dispose();
        File.Delete(_queue!.Acks);
        _writer = new AckWriter(new QueueDirectory(_queue.Path));
        _writer.Open();
    }

    [Benchmark]
    [InvocationCount(InvocationsPerIteration)]
    public bool WriteAcks_OneFlushPerBatch()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var line in _lines)
        {
            _writer!.Write<BenchContext>(line, "duplicate id", default, step: null, ranks: 1, rankErrors: null, now);
        }

        return _writer!.TryFlush(out _);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _writer?.Dispose();
        _queue?.Dispose();
        _writer = null;
        _queue = null;
        GC.SuppressFinalize(this);
    }
}
