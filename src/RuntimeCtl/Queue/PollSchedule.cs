namespace RuntimeCtl;

/// <summary>
/// When the next time-based poll is due, known without reading a clock on the calls that are not due.
/// </summary>
/// <remarks>
/// <para>
/// One rank: after a due poll a one-shot timer of the <see cref="TimeProvider"/> is armed for the interval; its
/// callback (on a thread-pool thread) only sets a volatile flag, which the not-due call reads. Every
/// <see cref="ClockCheckEvery"/>-th not-due call still compares the clock, so a timer callback delayed by a starved
/// thread pool can only delay a poll, never stop polling. Intervals below <see cref="TimerMinimumMs"/> compare the
/// monotonic clock on every call instead (a timer would fire late relative to them).
/// </para>
/// <para>
/// Several ranks: the ranks must enter a due poll at the same call, and their clocks need not agree, so rank 0
/// decides at each due poll after how many more calls the ranks meet again (<see cref="CallsUntilNext"/>, broadcast
/// with the poll's header): until then a call is a counter compare on every rank and runs no collective.
/// </para>
/// <para>A poll that left a backlog (<see cref="RuntimeControllerOptions.MaxCommandsPerPoll"/>) makes the next call due on every rank.</para>
/// </remarks>
internal sealed class PollSchedule : IDisposable
{
    /// <summary>The shortest interval a timer marks due; shorter ones read the clock on each call.</summary>
    public const long TimerMinimumMs = 10;

    /// <summary>A not-due call reads the clock once in this many calls even while the timer has not fired (a power of two).</summary>
    public const long ClockCheckEvery = 1024;

    private readonly TimeProvider _time;
    private ITimer? _timer;
    private volatile bool _due;
    private long _armedTicks = -1;
    private long _calls;
    private long _nextCall;
    private long _lastMeetingCall;
    private long _lastMeetingMs;
    private bool _met;

    public PollSchedule(TimeProvider time) => _time = time;

    /// <summary>Gets or sets whether the last due poll left commands for the next call (it is due whatever the interval).</summary>
    public bool BacklogWaiting { get; set; }

    /// <summary>The hot path: whether a time-based call with the interval <paramref name="everyTicks"/> is surely not due.</summary>
    public bool IsNotDue(long everyTicks, bool singleRank)
    {
        if (everyTicks != _armedTicks)
        {
            return false; // not armed for this interval (a short one, another one, or a backlog): the caller decides
        }

        return singleRank
            ? !_due && (++_calls & (ClockCheckEvery - 1)) != 0
            : ++_calls < _nextCall;
    }

    /// <summary>One rank: a due poll ran; arms the timer for the next one, or leaves the next call due for a backlog.</summary>
    public void AfterDuePoll(TimeSpan every, bool backlog)
    {
        BacklogWaiting = backlog;
        if (backlog)
        {
            _armedTicks = -1;
            return;
        }

        Arm(every);
    }

    /// <summary>
    /// One rank, a call that the clock found not due: arms the timer for the rest of the interval unless it is armed
    /// for this interval already (re-arming it would push the due poll out on every clock check).
    /// </summary>
    public void ArmIfNeeded(TimeSpan every, TimeSpan remaining)
    {
        if (every.Ticks != _armedTicks)
        {
            Arm(every, remaining);
        }
    }

    /// <summary>One rank: arms the timer to mark the poll due <paramref name="every"/> from now (or disarms it for short intervals).</summary>
    public void Arm(TimeSpan every) => Arm(every, every);

    private void Arm(TimeSpan every, TimeSpan dueIn)
    {
        if (every.Ticks < TimerMinimumMs * TimeSpan.TicksPerMillisecond)
        {
            _armedTicks = -1;
            return;
        }

        _due = false;
        _timer ??= _time.CreateTimer(static state => ((PollSchedule)state!)._due = true, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(dueIn > TimeSpan.Zero ? dueIn : TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
        _armedTicks = every.Ticks;
    }

    /// <summary>
    /// Rank 0, at a collective at <paramref name="nowMs"/>: how many calls until the ranks meet again. It is the calls
    /// the interval's rest takes at the rate of the calls since the last meeting, at most twice those calls (the rate
    /// is a guess until time has passed, and unknown at the first meeting), and 1 for a backlog or a zero interval.
    /// </summary>
    public int CallsUntilNext(TimeSpan every, long nowMs, long sinceDueMs, bool backlog)
    {
        var sinceLastMeetingMs = _met ? nowMs - _lastMeetingMs : 0;
        _lastMeetingMs = nowMs;
        _met = true;
        var calls = Math.Max(1, _calls - _lastMeetingCall);
        if (backlog || every <= TimeSpan.Zero)
        {
            return 1;
        }

        var remainingMs = Math.Max(0, every.TotalMilliseconds - sinceDueMs);
        var estimate = sinceLastMeetingMs > 0 ? remainingMs * calls / sinceLastMeetingMs : double.PositiveInfinity;
        return (int)Math.Clamp(Math.Min(estimate, 2.0 * calls), 1, int.MaxValue / 2);
    }

    /// <summary>Every rank, at a collective: the ranks meet again after <paramref name="calls"/> more time-based calls with <paramref name="every"/>.</summary>
    public void MeetAgainAfter(TimeSpan every, int calls, bool backlog)
    {
        BacklogWaiting = backlog;
        _lastMeetingCall = _calls;
        _nextCall = _calls + calls;
        _armedTicks = every.Ticks;
    }

    public void Dispose() => _timer?.Dispose();
}
