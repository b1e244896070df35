using BenchmarkDotNet.Attributes;

namespace RuntimeCtl.Benchmarks.Prototypes;

/// <summary>
/// The per-line parse of the drain, three ways, over the same 30,000 command lines (figures per line):
/// the core's <c>CommandLine.Parse</c> (one <c>Utf8JsonReader</c> pass now; a <c>JsonDocument</c> per line
/// before) with every line kept until the batch ends (what <c>Prepare</c> does today), the same parse disposed at once
/// (what a per-command pipeline would do), and the prototype single-pass reader it grew from.
/// </summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private const int Lines = 30_000;
    private readonly CommandLine?[] _kept = new CommandLine?[Lines];
    private ReadOnlyMemory<byte>[] _lines = [];

    [GlobalSetup]
    public void Setup()
    {
        var generator = new CommandLines();
        var block = generator.Block(Lines);
        _lines = new ReadOnlyMemory<byte>[Lines];
        for (var i = 0; i < Lines; i++)
        {
            _lines[i] = block.AsMemory(i * generator.LineLength, generator.LineLength - 1);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Lines)]
    public int CommandLineParse_KeptForTheBatch()
    {
        for (var i = 0; i < Lines; i++)
        {
            _kept[i] = CommandLine.Parse(i, _lines[i]);
        }

        var valid = 0;
        for (var i = 0; i < Lines; i++)
        {
            valid += _kept[i]!.Invalid is null ? 1 : 0;
            _kept[i]!.Dispose();
            _kept[i] = null;
        }

        return valid;
    }

    [Benchmark(OperationsPerInvoke = Lines)]
    public int CommandLineParse_DisposedAtOnce()
    {
        var valid = 0;
        for (var i = 0; i < Lines; i++)
        {
            using var line = CommandLine.Parse(i, _lines[i]);
            valid += line.Invalid is null ? 1 : 0;
        }

        return valid;
    }

    [Benchmark(OperationsPerInvoke = Lines)]
    public int Prototype_Utf8JsonReader_SinglePass()
    {
        var valid = 0;
        for (var i = 0; i < Lines; i++)
        {
            valid += StreamingCommandParser.Parse(_lines[i].Span).Invalid is null ? 1 : 0;
        }

        return valid;
    }
}
