using System.Globalization;

namespace TorchSharpTraining;

/// <summary>The sample's command line, parsed once; every problem is reported together.</summary>
internal sealed record TrainingOptions
{
    public const string DefaultQueue = "/tmp/runtimectl";

    public const string Usage =
        """
        Usage: TorchSharpTraining [options]

          --queue DIR         the RuntimeCtl queue directory to poll (default /tmp/runtimectl);
                              checkpoints go to DIR/checkpoints
          --steps N           stop after N optimizer steps (default: run until train.stop, Ctrl-C or SIGTERM)
          --threads T         torch intra-op threads (default 1; steadier than more on small models)
          --step-delay-ms D   sleep D ms after every step, to leave time to send commands (default 0)
          --log-every K       print a progress line every K steps when stdout is not a terminal (default 100)
          --eval-every E      score the held-out validation text every E steps (default 50)
          --seed S            seed for the data order, dropout and the initial weights (default 42)
          --metrics-port P    serve the RuntimeCtl meter and the .NET runtime's at http://127.0.0.1:P/metrics (Prometheus)
          --tensorboard DIR   write the reported scalars and every ack (as text) to TensorBoard event files in DIR
          --no-control        do not poll a queue at all (to measure what polling costs)
          --help              show this text
        """;

    public string Queue { get; init; } = DefaultQueue;

    public long? Steps { get; init; }

    public int Threads { get; init; } = 1;

    public int StepDelayMilliseconds { get; init; }

    public long LogEvery { get; init; } = 100;

    public long EvalEvery { get; init; } = 50;

    public int Seed { get; init; } = 42;

    public bool NoControl { get; init; }

    public int? MetricsPort { get; init; }

    public string? TensorBoard { get; init; }

    public bool ShowHelp { get; init; }

    /// <summary>Parses <paramref name="args"/>; returns <see langword="null"/> and the problems when they are not valid.</summary>
    public static TrainingOptions? Parse(IReadOnlyList<string> args, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        var options = new TrainingOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                options = options with { ShowHelp = true };
                continue;
            }

            if (name == "--no-control")
            {
                options = options with { NoControl = true };
                continue;
            }

            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                problems.Add($"Unexpected argument '{name}'. Run with --help to see the options.");
                continue;
            }

            if (name is not ("--queue" or "--steps" or "--threads" or "--step-delay-ms" or "--log-every" or "--eval-every" or "--seed" or "--metrics-port" or "--tensorboard"))
            {
                problems.Add($"Unknown option '{name}'. Run with --help to see the options.");
                continue;
            }

            if (i + 1 >= args.Count)
            {
                problems.Add($"Option {name} needs a value.");
                continue;
            }

            var value = args[++i];
            options = name switch
            {
                "--queue" => options with { Queue = ParsePath(name, value, problems) },
                "--steps" => options with { Steps = ParseLong(name, value, 1, problems) },
                "--threads" => options with { Threads = (int)ParseLong(name, value, 1, problems) },
                "--step-delay-ms" => options with { StepDelayMilliseconds = (int)ParseLong(name, value, 0, problems) },
                "--log-every" => options with { LogEvery = ParseLong(name, value, 1, problems) },
                "--eval-every" => options with { EvalEvery = ParseLong(name, value, 1, problems) },
                "--metrics-port" => options with { MetricsPort = (int)Math.Min(ParseLong(name, value, 1, problems), 65535) },
                "--tensorboard" => options with { TensorBoard = ParsePath(name, value, problems) },
                _ => options with { Seed = (int)ParseLong(name, value, 0, problems) },
            };
        }

        errors = problems;
        return problems.Count == 0 ? options : null;
    }

    private static string ParsePath(string name, string value, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            problems.Add($"Option {name} needs a directory, but was empty.");
            return DefaultQueue;
        }

        return value;
    }

    private static long ParseLong(string name, string value, long minimum, List<string> problems)
    {
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var result)
            && result >= minimum && result <= int.MaxValue)
        {
            return result;
        }

        problems.Add($"Option {name} must be a whole number from {minimum} to {int.MaxValue}, but was '{value}'.");
        return minimum;
    }
}
