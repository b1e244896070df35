using System.Globalization;
using System.Text.Json.Serialization;

namespace QuickStart;

/// <summary>The command line of QuickStart.</summary>
internal sealed class QuickStartOptions
{
    public const string Usage = """
        usage: QuickStart --queue DIR [--once | --steps N] [--every-s S | --every-steps K] [--step-delay-ms D] [--allow-shared] [--record FILE] [--power-loss-safe]
          --queue DIR        the queue directory (or RUNTIMECTL_QUEUE)
          --once             poll once, draining the queue, print the state and exit
          --steps N          run N steps (default: until Ctrl-C or SIGTERM)
          --every-s S        poll by time, every S seconds (default 2; polls carry no step)
          --every-steps K    poll by step, every K steps (acks then carry "step")
          --step-delay-ms D  sleep D ms per step (default 0 with --steps, else 10)
          --allow-shared     accept a group-writable queue directory
          --record FILE      append a line to FILE each time save_ckpt runs (to count applications across restarts)
          --power-loss-safe  fsync the queue's records before each control runs (Durability = PowerLossSafe)
        """;

    public string? Queue { get; private set; } = Environment.GetEnvironmentVariable("RUNTIMECTL_QUEUE");

    public bool Once { get; private set; }

    public long? Steps { get; private set; }

    public double EverySeconds { get; private set; } = 2.0;

    public int? EverySteps { get; private set; }

    public int StepDelayMs { get; private set; } = -1;

    public bool AllowShared { get; private set; }

    public string? Record { get; private set; }

    public bool PowerLossSafe { get; private set; }

    public string? Error { get; private set; }

    public static QuickStartOptions Parse(string[] args)
    {
        var o = new QuickStartOptions();
        for (var i = 0; i < args.Length && o.Error is null; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--queue" or "-q": o.Queue = Next(); break;
                    case "--once": o.Once = true; break;
                    case "--steps": o.Steps = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--every-s": o.EverySeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--every-steps": o.EverySteps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--step-delay-ms": o.StepDelayMs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--allow-shared": o.AllowShared = true; break;
                    case "--record": o.Record = Next(); break;
                    case "--power-loss-safe": o.PowerLossSafe = true; break;
                    default: o.Error = $"QuickStart: unknown argument '{args[i]}'"; break;
                }
            }
            catch (FormatException e)
            {
                o.Error = $"QuickStart: {e.Message}";
            }
        }

        if (o.Error is null && string.IsNullOrWhiteSpace(o.Queue))
        {
            o.Error = "QuickStart: --queue DIR is required (or set RUNTIMECTL_QUEUE)";
        }
        else if (o.Error is null && (o.Steps < 0 || o.EverySeconds < 0 || o.EverySteps < 1))
        {
            o.Error = "QuickStart: --steps and --every-s must be >= 0 and --every-steps >= 1";
        }

        if (o.StepDelayMs < 0)
        {
            o.StepDelayMs = o.Steps is null && !o.Once ? 10 : 0;
        }

        return o;
    }
}

/// <summary>The last line QuickStart prints.</summary>
internal sealed record FinalState(
    [property: JsonPropertyName("lr")] double Lr,
    [property: JsonPropertyName("dropout")] double Dropout,
    [property: JsonPropertyName("ckpts")] List<string> Ckpts);

[JsonSerializable(typeof(FinalState))]
internal sealed partial class QuickStartJson : JsonSerializerContext;
