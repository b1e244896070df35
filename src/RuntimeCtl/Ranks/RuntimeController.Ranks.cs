namespace RuntimeCtl;

/// <content>The multi-rank poll: every rank applies the same commands at the same call (docs/design.md, "Ranks").</content>
public sealed partial class RuntimeController<TContext>
{
    private TimeSpan? _pollEvery;
    private long _pollNowMs;

    /// <summary>
    /// Rank 0 decides whether the call is due (a time-based one by its clock) and runs the engine's poll, whose
    /// collective dispatch broadcasts each batch; the other ranks follow the batches. The last frame of the poll says
    /// on every rank when the ranks meet again and whether a backlog is waiting.
    /// </summary>
    private IReadOnlyList<Ack> RankedPoll(TContext context, long? step, int? everySteps, TimeSpan? every, bool decided)
    {
        var collective = (CollectiveDispatch<TContext>)_dispatch!;
        var now = NowMs();
        long started = 0;
        IReadOnlyList<Ack> acks = NoAcks;
        var first = !_polled;
        _polled = true;
        if (_group.Rank == 0)
        {
            var due = decided || first || _schedule.BacklogWaiting || (now - _lastDueMs) * TimeSpan.TicksPerMillisecond >= every!.Value.Ticks;
            if (due)
            {
                started = PollStarted();
                if (every is not null)
                {
                    _lastDueMs = now;
                }

                _pollEvery = every;
                _pollNowMs = now;
                acks = _engine!.Poll(context, step, now, everySteps, every);
            }
            else
            {
                collective.SendNotDue(CallsUntilNextMeeting(every, now, backlog: false));
            }
        }
        else
        {
            started = PollStarted();
            collective.Follow(context);
        }

        var frame = collective.LastFrame;
        if (every is { } interval)
        {
            _schedule.MeetAgainAfter(interval, frame.Calls, frame.Backlog);
        }
        else
        {
            _schedule.BacklogWaiting = frame.Backlog;
            if (frame.Backlog)
            {
                _lastDueStep = long.MinValue; // the next step-based call is due on every rank, whatever its step
            }
        }

        return frame.Due ? Observed(acks, started) : NoAcks;
    }

    /// <summary>Rank 0, at the last batch of a due poll: the time-based calls until the ranks meet again.</summary>
    private int CallsUntilNextMeeting(bool backlog) => CallsUntilNextMeeting(_pollEvery, _pollNowMs, backlog);

    private int CallsUntilNextMeeting(TimeSpan? every, long now, bool backlog) =>
        every is { } interval ? _schedule.CallsUntilNext(interval, now, now - _lastDueMs, backlog) : 0;
}
