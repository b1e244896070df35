using System.Runtime.CompilerServices;

namespace RuntimeCtl;

/// <summary>
/// The runtime control plane of one training job: register named controls, point it at a queue directory, and
/// call <c>PollAndApply</c> at step boundaries to apply the commands that senders queued.
/// </summary>
/// <typeparam name="TContext">What the loop hands to every control (the model, the optimizer, the loop's state).</typeparam>
/// <remarks>
/// Create one instance per job (there is no global one). Not thread-safe: register, configure and poll from the
/// training thread. What a sender writes never throws out of <c>PollAndApply</c>: it becomes an ack. Only program
/// misuse throws, as a <see cref="RuntimeCtlException"/>.
/// </remarks>
public sealed partial class RuntimeController<TContext> : IDisposable
{
    private static readonly Ack[] NoAcks = [];

    private readonly RuntimeControllerOptions _options;
    private readonly IProcessGroup _group;
    private readonly TimeProvider _time;
    private readonly bool _systemClock;
    private readonly bool _singleRank;
    private readonly Dictionary<string, Control<TContext>> _controls = new(StringComparer.Ordinal);
    private QueueEngine<TContext>? _engine;
    private CommandDispatch<TContext>? _dispatch;
    private string? _queueDirectory;

    // The hot path: a poll that is not due is a compare or two, no clock read and no system call (see PollSchedule).
    private long _lastDueStep = long.MinValue;
    private long _lastDueMs;
    private bool _polled;
    private int _notDueStepCalls;
    private const int StalledStepCalls = 1_000_000;
    private readonly PollSchedule _schedule;

    /// <summary>Initializes a new controller.</summary>
    /// <param name="options">The settings, or <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range (every problem is listed).</exception>
    public RuntimeController(RuntimeControllerOptions? options = null)
    {
        _options = (options ?? new RuntimeControllerOptions()).Validated();
        _group = _options.ProcessGroup;
        _time = _options.TimeProvider;
        _systemClock = ReferenceEquals(_time, TimeProvider.System);
        _singleRank = _group.Size == 1;
        _schedule = new PollSchedule(_time);
        _meter = CreateMeter();
    }

    /// <summary>Gets the full path of the queue directory, or <see langword="null"/> before <see cref="Configure"/>.</summary>
    public string? QueueDirectory => _queueDirectory;

    /// <summary>Gets this process's rank (0 in a single-process job).</summary>
    public int Rank => _group.Rank;

    /// <summary>
    /// Gets the job's ranks (<see cref="RuntimeControllerOptions.ProcessGroup"/>), for controls that move data between
    /// them while they apply a command: every rank runs the same control at the same point, so a collective inside one
    /// is matched on every rank.
    /// </summary>
    public IProcessGroup ProcessGroup => _group;

    /// <summary>Gets the controller's clock (<see cref="RuntimeControllerOptions.TimeProvider"/>), for integrations that wait or time on it.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>
    /// Gets how many lines of <c>commands.jsonl</c> this controller has consumed (acked or skipped as blank or
    /// already acked), e.g. to record in a checkpoint. Known on rank 0 only; 0 on other ranks and before <see cref="Configure"/>.
    /// </summary>
    public long CommandPosition => _engine?.CommandPosition ?? 0;

    /// <summary>
    /// Gets whether the last due poll stopped at <see cref="RuntimeControllerOptions.MaxCommandsPerPoll"/> with complete
    /// commands still queued. The next call then polls whatever its interval or step, so a backlog drains over
    /// consecutive calls; a loop that must drain the queue before it goes on calls <c>PollAndApply</c> while this is
    /// <see langword="true"/>. Known on every rank.
    /// </summary>
    public bool HasBacklog => _schedule.BacklogWaiting;

    /// <summary>Gets the paths of the registered controls, in registration order.</summary>
    public IReadOnlyCollection<string> ControlPaths => _controls.Keys;

    /// <summary>
    /// Sets the queue directory. Rank 0 creates it (0700) and its files (0600) if absent, checks that no other user
    /// can write them, and recovers its place in the queue from a previous run. May come before or after
    /// <c>Register</c>, but before the first poll. Calling it again with the same directory does nothing.
    /// </summary>
    /// <param name="queueDirectory">The queue directory, e.g. <c>/tmp/runtimectl</c>.</param>
    /// <returns>This controller.</returns>
    /// <exception cref="QueueConfigurationException">Another directory was configured already, or the directory is unsafe or cannot be created.</exception>
    /// <exception cref="ProcessGroupException">A launcher started several ranks but the process group has one.</exception>
    public RuntimeController<TContext> Configure(string queueDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queueDirectory);
        var full = Path.GetFullPath(queueDirectory);
        if (_queueDirectory is not null)
        {
            return string.Equals(_queueDirectory, full, StringComparison.Ordinal)
                ? this
                : throw new QueueConfigurationException(full, $"This controller already uses the queue directory '{_queueDirectory}'; it cannot switch to '{full}'. Create another RuntimeController for another queue.");
        }

        CheckLauncher();
        _dispatch = CommandDispatch<TContext>.Create(_group, _controls, CallsUntilNextMeeting);
        if (_group.Rank == 0)
        {
            var queue = new QueueDirectory(full);
            queue.EnsureCreated(_options.AllowSharedQueue);
            _engine = new QueueEngine<TContext>(queue, _options, _controls, _dispatch);
            _engine.Start();
        }

        _queueDirectory = full;
        return this;
    }

    /// <summary>
    /// Polls at the interval of <see cref="RuntimeControllerOptions.PollInterval"/>: when due, applies every
    /// complete command queued since the last poll, in file order, and writes their acks.
    /// </summary>
    /// <param name="context">What the controls receive first.</param>
    /// <returns>The acks written by this call (empty when the poll was not due or nothing was queued).</returns>
    /// <exception cref="QueueConfigurationException"><see cref="Configure"/> was not called.</exception>
    public IReadOnlyList<Ack> PollAndApply(TContext context) => PollAndApply(context, _options.PollInterval);

    /// <summary>Polls by time: due on the first call, then once <paramref name="everySeconds"/> have passed (monotonic clock).</summary>
    /// <param name="context">What the controls receive first.</param>
    /// <param name="everySeconds">The interval in seconds; 0 polls on every call.</param>
    /// <param name="step">The current step, written into acks and deciding <c>at_step</c> commands; <see langword="null"/> when the loop has none.</param>
    /// <returns>The acks written by this call.</returns>
    /// <exception cref="QueueConfigurationException"><see cref="Configure"/> was not called.</exception>
    public IReadOnlyList<Ack> PollAndApply(TContext context, double everySeconds, long? step = null)
        => PollAndApply(context, double.IsFinite(everySeconds) && everySeconds > 0 ? TimeSpan.FromSeconds(everySeconds) : TimeSpan.Zero, step);

    /// <summary>Polls by time: due on the first call, then once <paramref name="every"/> has passed (monotonic clock).</summary>
    /// <param name="context">What the controls receive first.</param>
    /// <param name="every">The interval; <see cref="TimeSpan.Zero"/> polls on every call.</param>
    /// <param name="step">The current step, written into acks and deciding <c>at_step</c> commands; <see langword="null"/> when the loop has none.</param>
    /// <returns>The acks written by this call.</returns>
    /// <exception cref="QueueConfigurationException"><see cref="Configure"/> was not called.</exception>
    /// <remarks>
    /// A call that is not due reads no clock: a timer marks the poll due when the interval has passed (intervals of
    /// at least <see cref="PollSchedule.TimerMinimumMs"/> ms; shorter ones compare the monotonic clock). With several
    /// ranks rank 0 decides at each due call after how many calls the ranks meet again, so the calls between are a
    /// compare on every rank and run no collective.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IReadOnlyList<Ack> PollAndApply(TContext context, TimeSpan every, long? step = null)
    {
        if (_polled && _schedule.IsNotDue(every.Ticks, _singleRank))
        {
            return NoAcks;
        }

        return PollByTime(context, every, step);
    }

    /// <summary>
    /// Polls by step: due on the first call, then when <paramref name="step"/> has advanced by
    /// <paramref name="everySteps"/> since the last due poll (or went back, after a checkpoint was loaded).
    /// </summary>
    /// <param name="context">What the controls receive first.</param>
    /// <param name="step">The loop's current step, written into acks and deciding <c>at_step</c> commands.</param>
    /// <param name="everySteps">Poll every this many steps; 1 polls on every step.</param>
    /// <returns>The acks written by this call.</returns>
    /// <exception cref="QueueConfigurationException"><see cref="Configure"/> was not called.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="everySteps"/> is below 1.</exception>
    /// <remarks>
    /// With several ranks every rank decides from the step alone, so a step that is not due runs no collective.
    /// A step that stays the same for a million calls is reported once on <see cref="RuntimeControllerOptions.OnDiagnostic"/>
    /// (<c>step-not-advancing</c>): the loop probably passes a constant.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IReadOnlyList<Ack> PollAndApplyAtStep(TContext context, long step, int everySteps = 1)
    {
        if ((ulong)(step - _lastDueStep) < (ulong)everySteps && everySteps > 0)
        {
            if (++_notDueStepCalls == StalledStepCalls)
            {
                ReportStalledStep(step);
            }

            return NoAcks;
        }

        return PollByStep(context, step, everySteps);
    }

    /// <summary>Not a poll: <c>PollAndApply(context, n)</c> would read as "every n seconds" and poll by step.</summary>
    /// <param name="context">What the controls receive first.</param>
    /// <param name="step">The step.</param>
    /// <param name="everySteps">The step interval.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    [Obsolete("PollAndApply(context, n) is ambiguous. Poll by step with PollAndApplyAtStep(context, step, everySteps), or by time with PollAndApply(context, everySeconds: n) or PollAndApply(context, TimeSpan).", error: true)]
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public IReadOnlyList<Ack> PollAndApply(TContext context, long step, int everySteps = 1) =>
        throw new NotSupportedException("Call PollAndApplyAtStep(context, step, everySteps) to poll by step, or PollAndApply(context, everySeconds: n) to poll by time.");

    /// <summary>
    /// Writes buffered metrics, marks <c>controller.json</c> stopped and closes the queue files. The controller cannot poll
    /// afterwards. A process group that <c>UseMpi()</c> created is released too (the last controller holding it
    /// finalizes MPI); a group set in <see cref="RuntimeControllerOptions.ProcessGroup"/> by the program stays the program's.
    /// </summary>
    public void Dispose()
    {
        _metrics?.Flush();
        _schedule.Dispose();
        _engine?.Dispose();
        _engine = null;
        _meter.Dispose();
        _options.ProcessGroupHold?.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private IReadOnlyList<Ack> PollByStep(TContext context, long step, int everySteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(everySteps, 1);
        EnsureConfigured();
        _lastDueStep = step;
        _notDueStepCalls = 0;
        _polled = true;
        if (!_singleRank)
        {
            return RankedPoll(context, step, everySteps, null, decided: true);
        }

        var started = PollStarted();
        var acks = _engine!.Poll(context, step, NowMs(), stepInterval: everySteps, timeInterval: null);
        _schedule.BacklogWaiting = _engine.More;
        if (_engine.More)
        {
            _lastDueStep = long.MinValue; // a backlog left by MaxCommandsPerPoll: the next call is due whatever its step
        }

        return Observed(acks, started);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private IReadOnlyList<Ack> PollByTime(TContext context, TimeSpan every, long? step)
    {
        EnsureConfigured();
        var now = NowMs();
        if (!_singleRank)
        {
            return RankedPoll(context, step, null, every, decided: false);
        }

        var sinceDue = TimeSpan.FromTicks((now - _lastDueMs) * TimeSpan.TicksPerMillisecond);
        if (_polled && !_schedule.BacklogWaiting && sinceDue < every)
        {
            // A timer that fired early, a periodic clock check, or another interval than before.
            _schedule.ArmIfNeeded(every, every - sinceDue);
            return NoAcks;
        }

        _lastDueMs = now;
        _polled = true;
        var started = PollStarted();
        var acks = _engine!.Poll(context, step, now, stepInterval: null, timeInterval: every);
        _schedule.AfterDuePoll(every, _engine.More);
        return Observed(acks, started);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportStalledStep(long step)
    {
        if (step == _lastDueStep)
        {
            _options.Report(new RuntimeDiagnostic("step-not-advancing", $"PollAndApplyAtStep was called a million times with step {step} since its last due poll, so it has not polled since: pass the loop's current step (it must advance for the next poll to be due), or poll by time with PollAndApply(context, everySeconds: n)."));
        }
    }

    private long NowMs() => _systemClock
        ? Environment.TickCount64
        : (long)(_time.GetTimestamp() * 1000.0 / _time.TimestampFrequency);

    private void EnsureConfigured()
    {
        if (_queueDirectory is null)
        {
            throw new QueueConfigurationException(null, "PollAndApply was called before Configure. Call Configure(queueDirectory) once, before the first poll (it may come after Register).");
        }

        if (_engine is null && _group.Rank == 0)
        {
            throw new ObjectDisposedException(nameof(RuntimeController<TContext>), "This controller was disposed; create a new one to poll again.");
        }
    }

    private void CheckLauncher()
    {
        if (_options.IgnoreLauncherEnvironment)
        {
            return;
        }

        foreach (var name in (string[])["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS", "WORLD_SIZE"])
        {
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out var size) && size > 1 && size != _group.Size)
            {
                throw new ProcessGroupException(
                    $"The launcher started {size} ranks ({name}={size}) but this controller's process group has {_group.Size}: every process would apply every command alone. " +
                    "Set RuntimeControllerOptions.ProcessGroup to the job's group (for MPI: MpiProcessGroup.Initialize() from the RuntimeCtl.Mpi package), " +
                    "or set IgnoreLauncherEnvironment if these processes are independent jobs on purpose.");
            }
        }
    }
}
