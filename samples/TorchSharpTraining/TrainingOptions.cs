using System.Globalization;

namespace TorchSharpTraining;

/// <summary>The sample's command line, parsed once; every problem is reported together.</summary>
internal sealed record TrainingOptions
{
    public const string Usage =
        """
        Usage: TorchSharpTraining [options]

          --steps N           optimizer steps to run (default 1000)
          --threads T         torch intra-op threads (default 1; steadier than more on small models)
          --step-delay-ms D   sleep D ms after every step, to leave time to send commands (default 0)
          --log-every K       print a progress line every K steps when stdout is not a terminal (default 100)
          --seed S            seed for the data and the initial weights (default 42)
          --help              show this text
        """;

    public long Steps { get; init; } = 1000;

    public int Threads { get; init; } = 1;

    public int StepDelayMilliseconds { get; init; }

    public long LogEvery { get; init; } = 100;

    public int Seed { get; init; } = 42;

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

            if (i + 1 >= args.Count)
            {
                problems.Add(name.StartsWith("--", StringComparison.Ordinal)
                    ? $"Option {name} needs a value."
                    : $"Unexpected argument '{name}'.");
                continue;
            }

            var value = args[++i];
            switch (name)
            {
                case "--steps":
                    options = options with { Steps = ParseLong(name, value, 1, problems) };
                    break;
                case "--threads":
                    options = options with { Threads = (int)ParseLong(name, value, 1, problems) };
                    break;
                case "--step-delay-ms":
                    options = options with { StepDelayMilliseconds = (int)ParseLong(name, value, 0, problems) };
                    break;
                case "--log-every":
                    options = options with { LogEvery = ParseLong(name, value, 1, problems) };
                    break;
                case "--seed":
                    options = options with { Seed = (int)ParseLong(name, value, 0, problems) };
                    break;
                default:
                    problems.Add($"Unknown option '{name}'. Run with --help to see the options.");
                    break;
            }
        }

        errors = problems;
        return problems.Count == 0 ? options : null;
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
