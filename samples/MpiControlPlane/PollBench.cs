using System.Diagnostics;
using System.Globalization;
using RuntimeCtl;

namespace MpiControlPlane;

/// <summary>
/// Measures what <c>PollAndApply</c> costs a training step at this world size, with nothing queued: a due poll
/// (time-based with interval 0, and step-based every step) and a step where the poll is not due (step-based:
/// no collective at all; time-based: rank 0 still tells the others, one small broadcast).
/// </summary>
internal static class PollBench
{
    private enum Mode
    {
        TimeDueEmpty,
        StepDueEmpty,
        StepNotDue,
        TimeNotDue,
    }

    /// <summary>
    /// Runs the four modes on every rank (they are collectives), each with a fresh controller; rank 0 prints one line
    /// per mode. <paramref name="polls"/> polls per collective mode; the local not-due mode runs 100 times as many.
    /// </summary>
    public static void Run(IProcessGroup group, Func<RuntimeController<TrainingState>> create, TrainingState state, long polls)
    {
        foreach (var mode in Enum.GetValues<Mode>())
        {
            var count = mode == Mode.StepNotDue ? Math.Max(polls * 100, 1_000_000) : polls;
            var nanoseconds = Measure(group, create, state, mode, count);
            if (group.Rank == 0)
            {
                var name = mode switch
                {
                    Mode.TimeDueEmpty => "time-due-empty",
                    Mode.StepDueEmpty => "step-due-empty",
                    Mode.StepNotDue => "step-not-due",
                    _ => "time-not-due",
                };
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench ranks {group.Size} mode {name} ns/poll {nanoseconds:F1} polls {count}"));
            }
        }
    }

    /// <summary>Returns nanoseconds per poll on this rank, after a warm-up of a tenth as many polls.</summary>
    private static double Measure(IProcessGroup group, Func<RuntimeController<TrainingState>> create, TrainingState state, Mode mode, long polls)
    {
        using var rt = create();

        // The not-due modes start with the one due poll (step 0) so that every timed poll is not due.
        var warmUp = Math.Max(polls / 10, 100);
        Loop(rt, state, mode, 0, warmUp);
        group.Barrier();
        var start = Stopwatch.GetTimestamp();
        Loop(rt, state, mode, warmUp, warmUp + polls);
        var elapsed = Stopwatch.GetElapsedTime(start);
        group.Barrier();
        if (rt.CommandPosition != 0)
        {
            throw new InvalidOperationException($"The bench expects an empty queue but read {rt.CommandPosition} command line(s); use a fresh --queue directory.");
        }

        return elapsed.TotalNanoseconds / polls;
    }

    // One loop per mode, without delegates, so the not-due check is inlined into the loop as it is in a training loop.
    private static void Loop(RuntimeController<TrainingState> rt, TrainingState state, Mode mode, long from, long to)
    {
        var hour = TimeSpan.FromHours(1);
        switch (mode)
        {
            case Mode.TimeDueEmpty:
                for (var step = from; step < to; step++)
                {
                    _ = rt.PollAndApply(state, TimeSpan.Zero, step);
                }

                break;
            case Mode.StepDueEmpty:
                for (var step = from; step < to; step++)
                {
                    _ = rt.PollAndApplyAtStep(state, step, everySteps: 1);
                }

                break;
            case Mode.StepNotDue:
                for (var step = from; step < to; step++)
                {
                    _ = rt.PollAndApplyAtStep(state, step, everySteps: int.MaxValue);
                }

                break;
            default:
                for (var step = from; step < to; step++)
                {
                    _ = rt.PollAndApply(state, hour, step);
                }

                break;
        }
    }
}
