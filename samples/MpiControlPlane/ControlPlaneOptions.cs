using System.Globalization;

namespace MpiControlPlane;

/// <summary>The command line of MpiControlPlane; every rank parses the same arguments.</summary>
internal sealed class ControlPlaneOptions
{
    public const string Usage = """
        usage: mpirun -np N MpiControlPlane --queue DIR [--steps N] [--every-steps K | --every-s S] [--step-delay-ms D]
                                         [--seed S] [--allow-shared] [--fail-rank R] [--crash-rank R --crash-step S]
               mpirun -np N MpiControlPlane --queue DIR --bench [--steps N]
          --queue DIR        the queue directory (or RUNTIMECTL_QUEUE); only rank 0 touches it
          --steps N          run N steps (default 3000); with --bench, N collective polls per mode (default 20000)
          --every-steps K    poll by step, every K steps (default 1); no collective runs on the other steps
          --every-s S        poll by time instead, every S seconds (every call is then a collective)
          --step-delay-ms D  sleep D ms per step (default 10 without --steps, else 0)
          --seed S           seed of the initial weights and the data (default 7)
          --allow-shared     accept a group-writable queue directory
          --fail-rank R      save_ckpt throws on rank R only (shows rank_errors in the ack)
          --crash-rank R     rank R exits abruptly (code 3) at step --crash-step S; mpirun then ends the job
          --bench            measure the cost of PollAndApply at this world size instead of training
        """;

    public string? Queue { get; private set; } = Environment.GetEnvironmentVariable("RUNTIMECTL_QUEUE");

    public long? Steps { get; private set; }

    public int? EverySteps { get; private set; }

    public double? EverySeconds { get; private set; }

    public int StepDelayMs { get; private set; }

    public int Seed { get; private set; } = 7;

    public bool AllowShared { get; private set; }

    public int? FailRank { get; private set; }

    public int? CrashRank { get; private set; }

    public long? CrashStep { get; private set; }

    public bool Bench { get; private set; }

    public string? Error { get; private set; }

    public static ControlPlaneOptions Parse(string[] args)
    {
        var o = new ControlPlaneOptions();
        int? stepDelayMs = null;
        for (var i = 0; i < args.Length && o.Error is null; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--queue" or "-q": o.Queue = Next(); break;
                    case "--steps": o.Steps = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--every-steps": o.EverySteps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--every-s": o.EverySeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--step-delay-ms": stepDelayMs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--seed": o.Seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--allow-shared": o.AllowShared = true; break;
                    case "--fail-rank": o.FailRank = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--crash-rank": o.CrashRank = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--crash-step": o.CrashStep = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--bench": o.Bench = true; break;
                    default: o.Error = $"MpiControlPlane: unknown argument '{args[i]}'"; break;
                }
            }
            catch (FormatException e)
            {
                o.Error = $"MpiControlPlane: {e.Message}";
            }
            catch (OverflowException e)
            {
                o.Error = $"MpiControlPlane: {e.Message}";
            }
        }

        if (o.Error is not null)
        {
            return o;
        }

        if (string.IsNullOrWhiteSpace(o.Queue))
        {
            o.Error = "MpiControlPlane: --queue DIR is required (or set RUNTIMECTL_QUEUE)";
        }
        else if (o.Steps < 1 || o.EverySteps < 1 || o.EverySeconds < 0 || stepDelayMs < 0)
        {
            o.Error = "MpiControlPlane: --steps and --every-steps must be >= 1, --every-s and --step-delay-ms >= 0";
        }
        else if (o.EverySteps is not null && o.EverySeconds is not null)
        {
            o.Error = "MpiControlPlane: use --every-steps or --every-s, not both";
        }
        else if ((o.CrashRank is null) != (o.CrashStep is null))
        {
            o.Error = "MpiControlPlane: --crash-rank and --crash-step go together";
        }

        o.StepDelayMs = stepDelayMs ?? (o.Steps is null && !o.Bench ? 10 : 0);
        o.Steps ??= o.Bench ? 20_000 : 3_000;
        return o;
    }
}
