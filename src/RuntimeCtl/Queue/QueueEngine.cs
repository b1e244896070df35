namespace RuntimeCtl;

/// <summary>
/// Rank 0's side of the queue. It only sequences the stages a command goes through, each in its own type:
/// read (<see cref="CommandSource"/>: new complete lines of <c>commands.jsonl</c>), plan (<see cref="CommandPlanner"/>:
/// refused, held or dispatched), execute (<see cref="CommandDispatch{TContext}"/>: on this rank or on every rank, each
/// command begun first in the <see cref="WriteAheadJournal"/>), record (<see cref="AckWriter"/>: the ack, flushed once a
/// batch), then the cursor (<see cref="QueueState"/>) and <c>controller.json</c> (<see cref="ControllerFile{TContext}"/>).
/// </summary>
/// <remarks>
/// A poll is one or more batches of at most <see cref="BatchLines"/> lines and <see cref="BatchBytes"/> bytes, until
/// the queue is drained or <see cref="RuntimeControllerOptions.MaxCommandsPerPoll"/> commands were planned.
/// A batch starts only when every ack of the one before is written, so the journal holds one batch.
/// </remarks>
internal sealed class QueueEngine<TContext> : IDisposable
{
    /// <summary>The bytes of command lines one batch holds; a longer backlog is applied in several batches of one poll.</summary>
    public const int BatchBytes = 4 * 1024 * 1024;

    /// <summary>The lines one batch holds: each line's parsed document lives until its batch's acks are written.</summary>
    public const int BatchLines = 1024;

    private const long ControllerFileEveryMs = 1000;
    private const long RetryEveryMs = 1000;

    private readonly QueueDirectory _queue;
    private readonly RuntimeControllerOptions _options;
    private readonly Dictionary<string, Control<TContext>> _controls;
    private readonly Action<RuntimeDiagnostic> _report;
    private readonly QueueState _state;
    private readonly CommandSource _source;
    private readonly CommandPlanner _planner;
    private readonly CommandDispatch<TContext> _dispatch;
    private readonly AckWriter _acks;
    private readonly WriteAheadJournal _journal;
    private readonly ControllerFile<TContext> _controllerFile;
    private long _lastJournalOpenMs = long.MinValue;
    private long _lastStartMs = long.MinValue;
    private bool _started;
    private bool _journalFailureReported;
    private bool _ackFailureReported;
    private long _lastControllerWriteMs = long.MinValue;
    private long _lastPollMs = long.MinValue;
    private double _meanPollIntervalMs;
    private long? _lastStep;
    private double _lastInterval;
    private int _budget;
    private DateTimeOffset _batchTime;
    private List<Ack>? _acksOfPoll;

    public QueueEngine(QueueDirectory queue, RuntimeControllerOptions options, Dictionary<string, Control<TContext>> controls, CommandDispatch<TContext>? dispatch = null)
    {
        _queue = queue;
        _options = options;
        _controls = controls;
        _report = options.Report;
        _state = new QueueState(queue);
        _source = new CommandSource(queue, options.MaxLineBytes, BatchBytes, _report);
        _planner = new CommandPlanner(_state, options.MaxLineBytes);
        _dispatch = dispatch ?? new LocalDispatch<TContext>(controls);
        var sync = options.Durability == RuntimeDurability.PowerLossSafe;
        _acks = new AckWriter(queue, sync, name => _report(new RuntimeDiagnostic("acks-replaced", $"'{Path.Combine(queue.Path, name)}' was replaced or removed while the trainer ran; acks go to the file now at that name (ids acked before are still known, so nothing is applied again).")));
        _journal = new WriteAheadJournal(queue, JournalCapacity(options.MaxLineBytes), sync);
        _controllerFile = new ControllerFile<TContext>(queue, options, controls);
    }

    /// <summary>Gets the number of complete lines of <c>commands.jsonl</c> read (the command position).</summary>
    public long CommandPosition => _source.Lines;

    /// <summary>Gets the number of commands read but not acked: held for a step, deferred, or with acks unwritten.</summary>
    public long PendingCommands => _planner.Waiting + _acks.Pending;

    /// <summary>Gets the queue directory, opened and checked.</summary>
    public QueueDirectory Queue => _queue;

    /// <summary>Gets whether the last plan left complete lines unread, or commands deferred to retry at once.</summary>
    public bool More { get; private set; }

    /// <summary>Gets whether the poll goes on with another batch (more is waiting and the poll's budget is not spent).</summary>
    public bool Continues => More && _budget > 0;

    public void Start()
    {
        var remote = FileSystemKind.RemoteName(_queue.Path);
        if (!_options.AllowNetworkFileSystem && remote is { } fileSystem)
        {
            _report(new RuntimeDiagnostic("network-file-system", FileSystemKind.Warning(_queue.Path, fileSystem, "Set RuntimeControllerOptions.AllowNetworkFileSystem")));
        }

        // Notifications see no writer on another host of a network file system: there every due poll looks.
        _source.Watch(localFileSystem: remote is null);
        TryStart(nowMs: long.MinValue);
    }

    /// <summary>Applies what is new, batch after batch: the acks of this poll, in file order.</summary>
    public IReadOnlyList<Ack> Poll(TContext context, long? step, long nowMs, int? stepInterval, TimeSpan? timeInterval)
    {
        _budget = _options.MaxCommandsPerPoll ?? int.MaxValue;
        do
        {
            var plan = Plan(step, nowMs, Math.Min(_budget, BatchLines));
            _budget -= plan.Count;
            Run(context, plan, step);
        }
        while (Continues);

        AfterPoll(step, nowMs, stepInterval, timeInterval);
        return TakeAcks();
    }

    /// <summary>Reads and plans the next batch. Empty when nothing is new or when earlier acks are still unwritten.</summary>
    public List<Slot> Plan(long? step, long nowMs, int max)
    {
        More = false;
        if (!TryStart(nowMs) || !FlushPendingAcks() || !EnsureJournal(nowMs))
        {
            return _planner.Empty(); // nothing new is applied before its acks and its write-ahead record can be written
        }

        if (!_planner.Start(step, max, out var plan))
        {
            More = _planner.HasDeferred;
            return plan;
        }

        var read = _source.Read(nowMs, max - plan.Count, BatchBytes);
        if (read == ReadOutcome.Restarted)
        {
            _planner.Clear();
            _state.Restart();
        }

        _planner.Add(plan, _source.Batch, _source.LinesBeforeBatch, step, _acks.Length);
        More = _source.More;
        return plan;
    }

    /// <summary>Runs one plan (the execute and record stages) and returns its acks (a benchmark's entry: a poll runs several).</summary>
    public IReadOnlyList<Ack> Apply(TContext context, List<Slot> plan, long? step)
    {
        Run(context, plan, step);
        return TakeAcks();
    }

    /// <summary>Runs one plan (the execute and record stages), writes its acks and saves the cursor.</summary>
    private void Run(TContext context, List<Slot> plan, long? step)
    {
        if (plan.Count == 0 && !_dispatch.RunsEmptyPlans)
        {
            return;
        }

        _batchTime = _options.TimeProvider.GetUtcNow();
        _journal.StartBatch();
        _dispatch.Run(this, context, plan, step);
        CommitJournal(); // the last outcome record
        foreach (var slot in plan)
        {
            slot.Line.Dispose();
        }

        FlushPendingAcks(); // saves the cursor once the acks are written
    }

    /// <summary>Hands over the acks recorded since the last call (the poll's list is the caller's from then on).</summary>
    private IReadOnlyList<Ack> TakeAcks()
    {
        IReadOnlyList<Ack> acks = _acksOfPoll ?? (IReadOnlyList<Ack>)[];
        _acksOfPoll = null;
        return acks;
    }

    /// <summary>
    /// The execute stage, one command: its begin record, written with the outcome record of the one before. False
    /// when it cannot be written: then it and the rest of the plan are deferred, and the command is not run.
    /// </summary>
    public bool Begin(List<Slot> plan, int index, long? step)
    {
        if (!_journal.StageBegin(plan[index].Line, IsSafeToRepeat(plan[index].Line), step))
        {
            Defer(plan, index, retryNow: true); // this batch's records fill the journal: the rest go in the next batch
            return false;
        }

        if (!CommitJournal())
        {
            Defer(plan, index, retryNow: false);
            return false;
        }

        return true;
    }

    /// <summary>The execute stage, several ranks: the begin records of every dispatched command, in one write (what cannot be written is deferred).</summary>
    public void BeginAll(List<Slot> plan, long? step)
    {
        for (var i = 0; i < plan.Count; i++)
        {
            if (plan[i].Refusal is null && !_journal.StageBegin(plan[i].Line, IsSafeToRepeat(plan[i].Line), step))
            {
                Defer(plan, i, retryNow: true);
                break;
            }
        }

        if (!CommitJournal())
        {
            Defer(plan, 0, retryNow: false);
        }
    }

    /// <summary>The record stage: the ack of one slot, and the outcome record of a dispatched one (written with the next begin).</summary>
    public void Record(Slot slot, long? step, in Outcome<TContext> outcome, int ranks, IReadOnlyDictionary<int, string>? rankErrors)
    {
        var ack = _acks.Write(slot.Line, slot.Refusal, outcome, step, ranks, rankErrors, _batchTime);
        if (slot.Refusal is null)
        {
            _journal.StageOutcome(slot.Line.Id, ack.Utf8Json.Span);
        }

        (_acksOfPoll ??= []).Add(ack);
    }

    public void AfterPoll(long? step, long nowMs, int? stepInterval, TimeSpan? timeInterval)
    {
        if (_lastPollMs != long.MinValue && stepInterval is not null)
        {
            var delta = nowMs - _lastPollMs;
            _meanPollIntervalMs = _meanPollIntervalMs == 0 ? delta : (_meanPollIntervalMs * 0.9) + (delta * 0.1);
        }

        _lastPollMs = nowMs;
        _lastStep = step;
        _lastInterval = timeInterval?.TotalSeconds ?? (_meanPollIntervalMs / 1000.0);
        if (nowMs - _lastControllerWriteMs >= ControllerFileEveryMs || _lastControllerWriteMs == long.MinValue)
        {
            _lastControllerWriteMs = nowMs;
            _controllerFile.Write(step, _lastInterval, _acks, _source.Lines, _source.Position, _report);
        }
    }

    public void Dispose()
    {
        if (!_acks.TryFlush(out _) && !_acks.TryFlush(out var error))
        {
            _report(new RuntimeDiagnostic("acks-unwritten", $"Stopping with {_acks.Pending} acks unwritten ({error!.Message}): applied but not acked: {string.Join(", ", _acks.PendingIds)}. A trainer started on this queue writes their acks from {WriteAheadJournal.FileName} and applies none of them again.", error));
        }

        _planner.Dispose();
        _journal.Dispose();
        _state.Dispose();
        _controllerFile.Write(_lastStep, _lastInterval, _acks, _source.Lines, _source.Position, _report, stopped: true, synchronous: true);
        _source.Dispose();
        _acks.Dispose();
        _queue.Dispose();
    }

    /// <summary>The journal's reserved size: room for a batch's records, and always for one command of the longest line.</summary>
    internal static long JournalCapacity(int maxLineBytes) => (2L * maxLineBytes) + (256 * 1024);

    /// <summary>
    /// Opens the acks, loads the cursor and the acked ids, and settles the journal. An I/O error (a failing disk) is
    /// reported and retried at the next due polls, at most once a second; nothing is read before it succeeds.
    /// </summary>
    private bool TryStart(long nowMs)
    {
        if (_started)
        {
            return true;
        }

        if (nowMs != long.MinValue && _lastStartMs != long.MinValue && nowMs - _lastStartMs < RetryEveryMs)
        {
            return false;
        }

        _lastStartMs = nowMs;
        try
        {
            _acks.Open();
            _state.Load(_source.TryResume);
            _acks.Lines = _state.AckLines;

            EnsureJournal(long.MinValue);
            _controllerFile.Write(step: null, _options.PollInterval.TotalSeconds, _acks, _source.Lines, _source.Position, _report, synchronous: true);
            _started = true;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _report(new RuntimeDiagnostic("queue-start-failed", $"Cannot read the queue in '{_queue.Path}': {e.Message}. No command is applied until it can be read (retried once a second); training goes on.", e));
            return false;
        }
    }

    private bool IsSafeToRepeat(CommandLine line) =>
        line.PathText is { } path && _controls.TryGetValue(path, out var control) && control.SafeToRepeat;

    private void Defer(List<Slot> plan, int from, bool retryNow)
    {
        _planner.Defer(plan, from, _acks.Length);
        More = retryNow;
    }

    /// <summary>Commits the cursor: at the first command read but not settled, else after the last line read.</summary>
    private void SaveCursor()
    {
        var cursor = _planner.Pinned is { } pinned
            ? new QueueCursor(pinned.Offset, pinned.LinesBefore, pinned.AcksOffset, _source.Last)
            : new QueueCursor(_source.Position, _source.Lines, _acks.Length, _source.Last);
        try
        {
            _state.Commit(cursor);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cursor is an optimisation: acks.jsonl recovers a stale one.
            _report(new RuntimeDiagnostic("cursor-write-failed", $"Could not save the cursor in '{_queue.Cursor}': {e.Message}. A restarted trainer will recover its place from acks.jsonl.", e));
        }
    }

    /// <summary>Opens the journal (retried at most once a second while it cannot be) and recovers the last batch once it opens.</summary>
    private bool EnsureJournal(long nowMs)
    {
        if (_journal.IsReady)
        {
            return true;
        }

        // At start (nowMs = long.MinValue) always try, and let the first poll try again at once.
        if (nowMs != long.MinValue && _lastJournalOpenMs != long.MinValue && nowMs - _lastJournalOpenMs < RetryEveryMs)
        {
            return false;
        }

        _lastJournalOpenMs = nowMs;
        if (!_journal.TryOpen(out var error))
        {
            ReportJournalFailure(error!);
            return false;
        }

        try
        {
            if (JournalRecovery.Recover(_journal, _state, _acks, _options.TimeProvider.GetUtcNow(), _queue.Path) is { } recovered)
            {
                _report(recovered);
            }

            FlushPendingAcks();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _journal.Close(); // recovered from scratch at the next try
            ReportJournalFailure(e);
            return false;
        }

        return true;
    }

    private bool CommitJournal()
    {
        if (_journal.TryCommit(out var error))
        {
            if (_journalFailureReported)
            {
                _journalFailureReported = false;
                _report(new RuntimeDiagnostic("journal-write-recovered", $"The write-ahead journal in '{_queue.Path}' is written again; deferred commands are applied."));
            }

            return true;
        }

        ReportJournalFailure(error!);
        return false;
    }

    private void ReportJournalFailure(Exception error)
    {
        if (!_journalFailureReported)
        {
            _journalFailureReported = true;
            _report(new RuntimeDiagnostic("journal-write-failed", $"Cannot write the write-ahead journal '{_queue.Journal}': {error.Message}. No command is applied until it can be (they wait in the queue; none is lost); training goes on.", error));
        }
    }

    private bool FlushPendingAcks()
    {
        if (_acks.Pending == 0)
        {
            return true;
        }

        if (_acks.TryFlush(out var error))
        {
            if (_ackFailureReported)
            {
                _ackFailureReported = false;
                _report(new RuntimeDiagnostic("ack-write-recovered", $"Acks are written to '{_queue.Acks}' again."));
            }

            SaveCursor();
            return true;
        }

        if (!_ackFailureReported)
        {
            _ackFailureReported = true;
            _report(new RuntimeDiagnostic("ack-write-failed", $"Could not write acks to '{_queue.Acks}': {error!.Message}. The commands stay pending (no new ones are read) and their acks are written once the file can be written again; training goes on.", error));
        }

        return false;
    }
}
