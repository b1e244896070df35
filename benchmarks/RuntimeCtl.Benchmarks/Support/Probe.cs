using System.Diagnostics;
using System.Globalization;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// Runs one benchmark's operation in a plain loop, for profilers that attach to a process (<c>perf</c>, <c>strace -c</c>,
/// <c>dotnet-counters</c>): <c>probe due-empty|poll-1|poll-100|drain N [R]</c>. Prints the mean time per operation.
/// </summary>
public static class Probe
{
    public static int Run(string[] args)
    {
        if (args.Length == 2 && args[0] == "parser-agreement")
        {
            return ParserAgreement(args[1]);
        }

        if (args.Length < 2 || !long.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
        {
            Console.Error.WriteLine("usage: RuntimeCtl.Benchmarks probe due-empty|poll-1|poll-100 N | drain N [REPEATS]");
            return 2;
        }

        using var queue = new TempQueueDirectory("probe");
        var context = new BenchContext();
        var lines = new CommandLines();
        using var rt = BenchContext.Controller(queue.Path);
        rt.PollAndApply(context, TimeSpan.Zero);
        var stopwatch = Stopwatch.StartNew();
        switch (args[0])
        {
            case "due-empty":
                for (long i = 0; i < count; i++)
                {
                    rt.PollAndApply(context, TimeSpan.Zero);
                }

                break;
            case "poll-1" or "poll-100":
                using (var appender = new Appender(queue.Commands, lines, args[0] == "poll-1" ? 1 : 100))
                {
                    for (long i = 0; i < count; i++)
                    {
                        appender.Append();
                        rt.PollAndApply(context, TimeSpan.Zero);
                    }
                }

                break;
            case "drain":
                // probe drain N [R]: R drains of N commands, each from a fresh queue and controller.
                var repeats = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
                var backlog = lines.Block(checked((int)count));
                for (var r = 0; r < repeats; r++)
                {
                    using var fresh = new TempQueueDirectory("probe-drain");
                    File.WriteAllBytes(fresh.Commands, backlog);
                    using var drainer = BenchContext.Controller(fresh.Path);
                    var pause = GC.GetTotalPauseDuration();
                    var allocated = GC.GetTotalAllocatedBytes(precise: true);
                    var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
                    var one = Stopwatch.StartNew();
                    var drained = drainer.PollAndApply(context, TimeSpan.Zero).Count;
                    one.Stop();
                    pause = GC.GetTotalPauseDuration() - pause;
                    allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                    Console.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"drain {r + 1}: {drained} commands in {one.Elapsed.TotalMilliseconds:F0} ms = {drained / one.Elapsed.TotalSeconds:N0} cmd/s; GC pauses {pause.TotalMilliseconds:F0} ms ({pause / one.Elapsed:P0}), gen0/1/2 {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}, allocated {allocated / 1048576.0:F1} MiB ({allocated / Math.Max(drained, 1)} B/cmd), peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB"));
                }

                return 0;
            default:
                Console.Error.WriteLine($"unknown probe '{args[0]}'");
                return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{args[0]}: {Summary.Time(stopwatch.Elapsed.TotalNanoseconds / count)} per operation over {count} operations"));
        return 0;
    }

    /// <summary>Compares the prototype parser's valid/invalid verdict with the core's on every line of a corpus directory.</summary>
    private static int ParserAgreement(string directory)
    {
        int lines = 0, disagreements = 0;
        foreach (var file in Directory.GetFiles(directory, "*.jsonl").Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            ReadOnlyMemory<byte> rest = bytes;
            while (!rest.IsEmpty)
            {
                var end = rest.Span.IndexOf((byte)'\n');
                var raw = end < 0 ? rest : rest[..end];
                rest = end < 0 ? ReadOnlyMemory<byte>.Empty : rest[(end + 1)..];
                var trimmed = LineText.Trim(raw.Span);
                if (trimmed.IsEmpty)
                {
                    continue;
                }

                lines++;
                using var core = CommandLine.Parse(0, trimmed.ToArray());
                var coreValid = core.Invalid is null;
                var prototypeValid = System.Text.Unicode.Utf8.IsValid(trimmed) && Prototypes.StreamingCommandParser.Parse(trimmed).Invalid is null;
                if (coreValid != prototypeValid)
                {
                    disagreements++;
                    Console.WriteLine($"{Path.GetFileName(file)}: core {(coreValid ? "valid" : "invalid (" + core.Invalid + ")")}, prototype {(prototypeValid ? "valid" : "invalid")}");
                }
            }
        }

        Console.WriteLine($"{lines} lines, {disagreements} disagreements");
        return 0;
    }
}
