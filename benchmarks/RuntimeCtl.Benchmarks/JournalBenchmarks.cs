using System.Text;
using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// The write-ahead journal's part of applying one command, as the single-rank drain does it: the command's begin
/// record staged and committed with the previous command's outcome record (its whole ack), a new batch started when
/// the journal is full. Figures are per command (<c>OperationsPerInvoke</c>), on the journal of the default line limit.
/// The checksum of one record is measured alone too, with the hash records are written with and the older one.
/// </summary>
[MemoryDiagnoser]
public class JournalBenchmarks : IDisposable
{
    private const int Lines = 1000;

    private TempQueueDirectory? _directory;
    private QueueDirectory? _queue;
    private WriteAheadJournal? _journal;
    private CommandLine[] _lines = [];
    private byte[] _ack = [];

    [GlobalSetup]
    public void Setup()
    {
        _directory = new TempQueueDirectory("journal");
        _queue = new QueueDirectory(_directory.Path);
        _queue.EnsureCreated(allowShared: false);
        _journal = new WriteAheadJournal(_queue, QueueEngine<BenchContext>.JournalCapacity(new RuntimeControllerOptions().MaxLineBytes), sync: false);
        if (!_journal.TryOpen(out var error))
        {
            throw new InvalidOperationException("Cannot open the journal.", error);
        }

        _journal.Recover();
        _journal.StartBatch();
        var block = new CommandLines().Block(Lines);
        var length = block.Length / Lines;
        _lines = [.. Enumerable.Range(0, Lines).Select(i => CommandLine.Parse((long)i * length, block.AsMemory(i * length, length - 1)))];
        _ack = Encoding.UTF8.GetBytes($$"""{"id":"{{_lines[0].Id}}","ts":"2025-11-29T00:00:00.000+00:00","path":"noop","op":"set","args":[],"status":"applied","ranks":1}""");
    }

    /// <summary>Per command: its begin record staged, one commit (with the previous outcome), its outcome record staged.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int StageAndCommit()
    {
        var journal = _journal!;
        foreach (var line in _lines)
        {
            if (!journal.StageBegin(line, safeToRepeat: false, step: 42))
            {
                journal.TryCommit(out _);
                journal.StartBatch();
                journal.StageBegin(line, safeToRepeat: false, step: 42);
            }

            if (!journal.TryCommit(out var error))
            {
                throw new InvalidOperationException("The journal commit failed.", error);
            }

            journal.StageOutcome(line.Id, _ack);
        }

        return journal.Staged;
    }

    /// <summary>The checksum of one outcome record (an ack of about 150 bytes): XXH64, as records are written now.</summary>
    [Benchmark]
    public ulong Checksum_Outcome() => WriteAheadJournal.Checksum(12345, 4, _ack);

    /// <summary>The same with FNV-1a, the checksum of the records of earlier releases.</summary>
    [Benchmark]
    public ulong Checksum_OutcomeFnv() => WriteAheadJournal.Checksum(12345, 2, _ack);

    [GlobalCleanup]
    public void Dispose()
    {
        _journal?.Dispose();
        _queue?.Dispose();
        _directory?.Dispose();
        _journal = null;
        _queue = null;
        _directory = null;
        GC.SuppressFinalize(this);
    }
}
