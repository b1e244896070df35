using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// Ack writing as <c>QueueEngine.Finish</c> does it: one ack per command into the batch buffer (id, ts, path, op,
/// status, args, kwargs), then one write and one flush per batch. Each iteration writes a fresh <c>acks.jsonl</c>.
/// </summary>
[MemoryDiagnoser]
public class AckWriterBenchmarks : IDisposable
{
    private const int InvocationsPerIteration = 1000;

    private TempQueueDirectory? _queue;
    private AckWriter? _writer;
    private string[] _ids = [];

    [Params(1, 100)]
    public int AcksPerBatch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _queue = new TempQueueDirectory("acks");
        _ids = Enumerable.Range(0, AcksPerBatch).Select(i => Guid.NewGuid().ToString("D")).ToArray();
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
        foreach (var id in _ids)
        {
            var writer = _writer!.Begin(id, now);
            writer.WriteString("path"u8, "noop");
            writer.WriteString("op"u8, "set");
            writer.WriteString("status"u8, "applied");
            writer.WritePropertyName("args"u8);
            writer.WriteStartArray();
            writer.WriteEndArray();
            writer.WritePropertyName("kwargs"u8);
            writer.WriteStartObject();
            writer.WriteEndObject();
            _writer.End();
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
