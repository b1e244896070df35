using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using RuntimeCtl;
using RuntimeCtl.Benchmarks;

// `fixture ...` prepares queue directories for benchmarks/run.sh's process-level timings, `summary [DIR]` prints
// one screen from the JSON reports, `probe ...` loops one operation for a profiler; anything else is BenchmarkDotNet's command line (--filter, --job, --exporters, ...).
if (args.Length > 0 && args[0] == "fixture")
{
    return Fixture.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "summary")
{
    return Summary.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "probe")
{
    return Probe.Run(args[1..]);
}

// BenchmarkDotNet builds a copy of this project with the repository's analysers on; two cores need more than its
// default two minutes for that.
var config = ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10));
BenchmarkSwitcher.FromAssembly(typeof(PollBenchmarks).Assembly).Run(args, config);
return 0;

/// <summary>The fixtures of benchmarks/run.sh.</summary>
internal static class Fixture
{
    private const string Usage = """
        usage: RuntimeCtl.Benchmarks fixture backlog DIR N [PATH [ARG]]   N queued commands (default: model.dropout.p 0.5)
               RuntimeCtl.Benchmarks fixture status DIR N                 a trainer's queue after N commands, with controller.json
        """;

    public static int Run(string[] args)
    {
        if (args.Length < 3 || !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var directory = args[1];
        switch (args[0])
        {
            case "backlog":
                var path = args.Length > 3 ? args[3] : "model.dropout.p";
                object?[] arguments = args.Length > 4 ? [double.Parse(args[4], CultureInfo.InvariantCulture)] : args.Length > 3 ? [] : [0.5];
                WriteBacklog(directory, count, new CommandLines(path, arguments));
                return 0;
            case "status":
                StatusFixture.Write(directory, count);
                return 0;
            default:
                Console.Error.WriteLine(Usage);
                return 2;
        }
    }

    private static void WriteBacklog(string directory, int count, CommandLines lines)
    {
        var queue = new QueueDirectory(directory);
        queue.EnsureCreated(allowShared: false);
        using var commands = new FileStream(queue.Commands, FileMode.Append, FileAccess.Write);
        const int Batch = 10_000;
        for (var done = 0; done < count; done += Batch)
        {
            commands.Write(lines.Block(Math.Min(Batch, count - done)));
        }
    }
}
