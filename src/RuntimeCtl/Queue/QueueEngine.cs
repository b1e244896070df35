using System.Text.Json;

namespace RuntimeCtl;

/// <summary>One command of a batch, in file order: refused up front, or dispatched to the controls.</summary>
internal sealed class Slot(CommandLine line, string? refusal, long linesBefore)
{
    public CommandLine Line { get; } = line;

    /// <summary>Gets the error of a command refused before dispatch (or of an invalid line), else null.</summary>
    public string? Refusal { get; } = refusal;

    /// <summary>Gets the number of lines before this one, for a cursor pinned at it.</summary>
    public long LinesBefore { get; } = linesBefore;

    /// <summary>Gets or sets the length of <c>acks.jsonl</c> when the slot was deferred, for a cursor pinned at it.</summary>
    public long AcksOffset { get; set; }
}


/// <summary>
/// Rank 0's side of the queue: reads new complete lines, decides what is refused, held or dispatched, writes
/// acks in file order and keeps the cursor and <c>controller.json</c>.
/// </summary>
internal sealed class QueueEngine<TContext> : IDisposable
{
    private const long ControllerFileEveryMs = 1000;
    private const long IdentityCheckEveryMs = 1000;

    private readonly QueueDirectory _queue;
    private readonly RuntimeControllerOptions _options;
    private readonly Dictionary<string, Control<TContext>> _controls;
    private readonly QueueState _state;
    private readonly CommandReader _reader;
    private readonly AckWriter _acks;
    private readonly LineBatch _batch;
    private readonly HeldCommands _held = new();
    private readonly List<Slot> _slots = [];
    private readonly List<Slot> _deferred = [];
    private readonly WriteAheadJournal _journal;
    private readonly ControllerFile<TContext> _controllerFile;
    private long _lastJournalOpenMs = long.MinValue;
    private long _lastStartMs = long.MinValue;
    private bool _started;
    private bool _swapReported;
    private bool _journalFailureReported;
    private ulong _inode;
    private long _lastIdentityCheckMs = long.MinValue;
    private long _lastControllerWriteMs = long.MinValue;
    private long _lastPollMs = long.MinValue;
    private double _meanPollIntervalMs;
    private bool _ackFailureReported;
    private long _consumedLines;
    private long? _lastStep;
    private double _lastInterval;
    private AppendSignal? _appends; // null: no notifications, every due poll looks at the file

    public QueueEngine(QueueDirectory queue, RuntimeControllerOptions options, Dictionary<string, Control<TContext>> controls)
    {
        _queue = queue;
        _options = options;
        _controls = controls;
        _state = new QueueState(queue);
        _reader = new CommandReader(queue, options.MaxLineBytes);
        _batch = new LineBatch(BatchBytes + options.MaxLineBytes + 1);
        var sync = options.Durability == RuntimeDurability.PowerLossSafe;
        _acks = new AckWriter(queue, sync, name => Report(new RuntimeDiagnostic("acks-replaced", $"'{System.IO.Path.Combine(queue.Path, name)}' was replaced or removed while the trainer ran; acks go to the file now at that name (ids acked before are still known, so nothing is applied again).")));
        _journal = new WriteAheadJournal(queue, JournalCapacity(options.MaxLineBytes), sync);
        _controllerFile = new ControllerFile<TContext>(queue, options, controls);
    }

    public long ConsumedLines => _consumedLines;

    /// <summary>Gets the number of commands read but not acked: held for a step, deferred, or with acks unwritten.</summary>
    public long PendingCommands => _held.Count + _deferred.Count + _acks.Pending;

    /// <summary>Gets the queue directory, opened and checked.</summary>
    public QueueDirectory Queue => _queue;

    public void Start()
    {
        var remote = FileSystemKind.RemoteName(_queue.Path);
        if (!_options.AllowNetworkFileSystem && remote is { } fileSystem)
        {
            Report(new RuntimeDiagnostic("network-file-system", FileSystemKind.Warning(_queue.Path, fileSystem, "Set RuntimeControllerOptions.AllowNetworkFileSystem")));
        }

        // Notifications see no writer on another host of a network file system: there every due poll looks.
        _appends = AppendSignal.TryStart(_queue.Path, QueueDirectory.CommandsFile, localFileSystem: remote is null);

        TryStart(nowMs: long.MinValue);
    }

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

        if (nowMs != long.MinValue && _lastStartMs != long.MinValue && nowMs - _lastStartMs < 1000)
        {
            return false;
        }

        _lastStartMs = nowMs;
        try
        {
            StartCore();
            _started = true;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Report(new RuntimeDiagnostic("queue-start-failed", $"Cannot read the queue in '{_queue.Path}': {e.Message}. No command is applied until it can be read (retried once a second); training goes on.", e));
            return false;
        }
    }

    private void StartCore()
    {
        _acks.Open();
        _state.Load();
        _acks.Lines = _state.AckLines;
        _reader.Position = _state.Offset;
        var length = _reader.Length();
        if (length < 0)
        {
            throw new IOException($"'{_queue.Commands}' cannot be opened.");
        }

        if (length < _state.Offset || !LastLineMatches())
        {
            _state.Restart();
            _reader.Position = 0;
        }

        // The cursor keeps the line count with its offset, so a restart need not count the file again.
        _consumedLines = _state.LinesBeforeOffset;
        _state.Offset = _reader.Position;
        _inode = _queue.TryStat(QueueDirectory.CommandsFile, out var commands) ? commands.Inode : 0;
        EnsureJournal(long.MinValue);
        _controllerFile.Write(step: null, _options.PollInterval.TotalSeconds, _acks, _consumedLines, _reader.Position, Report, synchronous: true);
    }

    /// <summary>The bytes of command lines one batch holds; a longer backlog is applied in several batches of one poll.</summary>
    public const int BatchBytes = 4 * 1024 * 1024;

    /// <summary>The lines one batch holds: each line's parsed document lives until its batch's acks are written.</summary>
    public const int BatchLines = 1024;

    /// <summary>Gets whether the last <see cref="Prepare"/> stopped at the byte budget with more lines waiting.</summary>
    public bool More { get; private set; }

    public IReadOnlyList<Ack> Poll(TContext context, long? step, long nowMs, int? stepInterval, TimeSpan? timeInterval)
    {
        IReadOnlyList<Ack> acks = [];
        List<Ack>? all = null;
        var budget = _options.MaxCommandsPerPoll ?? int.MaxValue;
        do
        {
            var plan = Prepare(step, nowMs, Math.Min(budget, BatchLines));
            if (plan.Count > 0)
            {
                budget -= plan.Count;
                var batch = Apply(context, plan, step);
                if (acks.Count == 0)
                {
                    acks = batch;
                }
                else
                {
                    all ??= [.. acks];
                    all.AddRange(batch);
                    acks = all;
                }
            }
        }
        while (More && budget > 0);

        AfterPoll(step, nowMs, stepInterval, timeInterval);
        return acks;
    }

    /// <summary>Reads and sorts the next batch. Empty when nothing is new or when earlier acks are still unwritten.</summary>
    public List<Slot> Prepare(long? step, long nowMs, int max)
    {
        // One list, reused: a plan is finished before the next is prepared, so a due poll allocates nothing.
        var slots = _slots;
        slots.Clear();
        More = false;
        if (!TryStart(nowMs) || !FlushPendingAcks() || !EnsureJournal(nowMs))
        {
            return slots; // nothing new is applied before its acks and its write-ahead record can be written
        }

        if (_deferred.Count > 0)
        {
            // Commands read before but not applied yet (their write-ahead record could not be written) come first.
            var deferred = Math.Min(_deferred.Count, max);
            for (var i = 0; i < deferred; i++)
            {
                slots.Add(_deferred[i]);
            }

            _deferred.RemoveRange(0, deferred);
            if (_deferred.Count > 0)
            {
                More = true;
                return slots;
            }
        }

        ReleaseHeld(step, slots, max);
        if (slots.Count >= max)
        {
            return slots;
        }

        var before = _reader.Position;
        long length;
        _batch.Clear();
        try
        {
            CheckIdentity(nowMs);
            if (_appends is { } appends && !appends.ShouldLook(nowMs))
            {
                return slots; // idle, and no write to commands.jsonl was notified since the last look
            }

            length = _reader.Length();
            _appends?.Looked(found: length != _reader.Position);
            if (length == _reader.Position || length < 0)
            {
                return slots; // nothing new, or the file cannot be opened right now (it will be retried)
            }

            if (length < _reader.Position || !LastLineMatches())
            {
                RestartFromTop();
                before = _reader.Position;
            }

            _reader.Read(_batch, max - slots.Count, BatchBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing of this read was taken yet: read it again at the next poll.
            _batch.Clear();
            _reader.Position = before;
            _reader.Reopen();
            Report(new RuntimeDiagnostic("commands-read-failed", $"Cannot read '{_queue.Commands}': {e.Message}. Retried at the next poll; training goes on.", e));
            return slots;
        }

        More = _batch.Lines.Count > 0 && _reader.Position < length; // stopped at a cap, not at a write in progress
        foreach (var raw in _batch.Lines)
        {
            _consumedLines++;
            if (raw.Oversize)
            {
                var oversize = CommandLine.Oversize(raw.Offset, raw.End, _options.MaxLineBytes);
                if (_state.TrySkipRecovered(oversize.Id))
                {
                    continue;
                }

                slots.Add(new Slot(oversize, "unsupported op: invalid (" + oversize.Invalid + ")", _consumedLines - 1));
                _state.MarkAcked(oversize.Id);
                continue;
            }

            var bytes = Trim(_batch.Line(raw));
            if (bytes.IsEmpty)
            {
                continue; // blank lines get no ack, as the original
            }

            var start = raw.Start + (int)Offset(_batch.Line(raw), bytes);
            var line = CommandLine.Parse(raw.Offset, _batch.Memory(start, bytes.Length));
            if (_state.TrySkipRecovered(line.Id))
            {
                line.Dispose();
                continue; // acked by a run that was killed before it saved its cursor
            }

            if (line.Invalid is not null)
            {
                slots.Add(new Slot(line, "unsupported op: invalid (" + line.Invalid + ")", _consumedLines - 1));
                _state.MarkAcked(line.Id);
                continue;
            }

            if (line.Refusal is not null || _state.IsAcked(line.Id) || IsHeld(line.Id))
            {
                slots.Add(new Slot(line, line.Refusal ?? "duplicate id", _consumedLines - 1));
                if (line.Refusal is not null)
                {
                    _state.MarkAcked(line.Id);
                }

                continue;
            }

            if (line.AtStep is { } atStep)
            {
                if (step is null)
                {
                    slots.Add(new Slot(line, $"at_step {atStep} cannot be honoured: this trainer polls without a step (pass step: to PollAndApply, or send the command without --at-step)", _consumedLines - 1));
                    _state.MarkAcked(line.Id);
                    continue;
                }

                if (step < atStep)
                {
                    // Held lines must outlive the batch buffer: their bytes are copied, and parsed again when due.
                    if (_held.TryAdd(line, bytes, _consumedLines - 1, _acks.Length))
                    {
                        line.Dispose();
                        continue;
                    }

                    slots.Add(new Slot(line, HeldCommands.Full(atStep), _consumedLines - 1));
                    _state.MarkAcked(line.Id);
                    continue;
                }
            }

            slots.Add(new Slot(line, null, _consumedLines - 1));
            _state.MarkAcked(line.Id);
        }

        return slots;
    }

    /// <summary>
    /// Applies the plan on this (the only) rank, one command at a time: its write-ahead begin record, the control,
    /// its ack, its outcome record (written with the next begin). A command whose begin record cannot be written is
    /// not applied: it and the rest of the batch are deferred.
    /// </summary>
    public IReadOnlyList<Ack> Apply(TContext context, List<Slot> plan, long? step)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var result = new List<Ack>(plan.Count);
        _journal.StartBatch();
        var count = plan.Count;
        for (var i = 0; i < count; i++)
        {
            var slot = plan[i];
            Outcome<TContext> outcome = default;
            if (slot.Refusal is null)
            {
                if (!_journal.StageBegin(slot.Line, IsSafeToRepeat(slot.Line), step))
                {
                    Defer(plan, i, retryNow: true); // this batch's records fill the journal: the rest go in the next batch
                    count = i;
                    break;
                }

                if (!CommitJournal())
                {
                    Defer(plan, i, retryNow: false);
                    count = i;
                    break;
                }

                outcome = CommandExecutor.Execute(_controls, context, slot.Line);
            }

            var ack = WriteAck(slot, step, outcome, ranks: 0, errors: null, now);
            if (slot.Refusal is null)
            {
                _journal.StageOutcome(slot.Line.Id, ack.Utf8Json.Span); // committed with the next begin, or below
            }

            result.Add(ack);
        }

        EndBatch(plan, count);
        return result;
    }

    /// <summary>
    /// Rank 0, before a collective batch: the begin records of every dispatched command, in one write. False when it
    /// cannot be written: then the whole plan is deferred and nothing is broadcast.
    /// </summary>
    public bool BeginCollective(List<Slot> plan, long? step)
    {
        if (plan.Count == 0)
        {
            return true;
        }

        _journal.StartBatch();
        for (var i = 0; i < plan.Count; i++)
        {
            if (plan[i].Refusal is null && !_journal.StageBegin(plan[i].Line, IsSafeToRepeat(plan[i].Line), step))
            {
                Defer(plan, i, retryNow: true);
                plan.RemoveRange(i, plan.Count - i);
                break;
            }
        }

        if (!CommitJournal())
        {
            Defer(plan, 0, retryNow: false);
            plan.Clear();
            return false;
        }

        return true;
    }

    /// <summary>Rank 0, after a collective batch: one ack per slot, in order, their outcome records, one flush, the cursor.</summary>
    public IReadOnlyList<Ack> Finish(List<Slot> plan, long? step, Outcome<TContext>[] outcomes, int ranks, IReadOnlyDictionary<int, string>[]? rankErrors = null)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var result = new Ack[plan.Count];
        for (var i = 0; i < plan.Count; i++)
        {
            result[i] = WriteAck(plan[i], step, outcomes.Length > i ? outcomes[i] : default, ranks, rankErrors?[i], now);
            if (plan[i].Refusal is null)
            {
                _journal.StageOutcome(plan[i].Line.Id, result[i].Utf8Json.Span);
            }
        }

        EndBatch(plan, plan.Count);
        return result;
    }

    /// <summary>The end of a batch: the last outcome records, the lines released, the acks written and the cursor saved.</summary>
    private void EndBatch(List<Slot> plan, int applied)
    {
        CommitJournal();
        for (var i = 0; i < applied; i++)
        {
            plan[i].Line.Dispose();
        }

        FlushPendingAcks(); // saves the cursor once the acks are written
    }

    /// <summary>Buffers the ack of one slot (the only place an ack is built) and returns it.</summary>
    private Ack WriteAck(Slot slot, long? step, Outcome<TContext> outcome, int ranks, IReadOnlyDictionary<int, string>? errors, DateTimeOffset now)
    {
        var line = slot.Line;
        var ackStart = _acks.Mark;
        var writer = _acks.Begin(line.Id, now);
        AckStatus status;
        string? error;
        if (slot.Refusal is not null)
        {
            status = AckStatus.Rejected;
            error = slot.Refusal;
        }
        else
        {
            status = outcome.Status;
            error = outcome.Error;
            if (status == AckStatus.Applied && errors is { Count: > 0 })
            {
                status = AckStatus.Failed;
                var first = errors.OrderBy(e => e.Key).First();
                error = $"rank {first.Key}: {first.Value}";
            }
        }

        if (line.Invalid is not null)
        {
            writer.WriteString("path"u8, string.Empty);
            writer.WriteString("op"u8, "invalid");
        }
        else
        {
            writer.WritePropertyName("path"u8);
            if (line.Path is { } path)
            {
                path.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WritePropertyName("op"u8);
            line.WriteOp(writer);
        }

        writer.WriteString("status"u8, status.ToWire());
        if (status == AckStatus.Applied)
        {
            var bound = outcome.Bound;
            writer.WritePropertyName("args"u8);
            writer.WriteStartArray();
            foreach (var value in bound.EchoArgs)
            {
                WriteEcho(writer, value);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("kwargs"u8);
            writer.WriteStartObject();
            foreach (var (key, value) in bound.EchoKwargs)
            {
                writer.WritePropertyName(key);
                WriteEcho(writer, value);
            }

            writer.WriteEndObject();
        }
        else
        {
            writer.WriteString("error"u8, error);
        }

        if (step is { } s)
        {
            writer.WriteNumber("step"u8, s);
        }

        if (ranks > 1)
        {
            writer.WriteNumber("ranks"u8, ranks);
            if (status == AckStatus.Failed && errors is { Count: > 0 })
            {
                writer.WritePropertyName("rank_errors"u8);
                writer.WriteStartObject();
                foreach (var (rank, message) in errors.OrderBy(e => e.Key))
                {
                    writer.WriteString(rank.ToString(System.Globalization.CultureInfo.InvariantCulture), message);
                }

                writer.WriteEndObject();
            }
        }

        _acks.End();
        return new Ack(_acks.LastAck(ackStart))
        {
            Id = line.Id,
            Timestamp = now,
            Path = line.Invalid is not null ? string.Empty : line.Path is null ? null : line.PathForMessage(),
            Op = line.Invalid is not null ? "invalid" : line.OpText(),
            Status = status,
            Error = status == AckStatus.Applied ? null : error,
            Step = step,
            Ranks = ranks > 1 ? ranks : null,
            RankErrors = status == AckStatus.Failed && errors is { Count: > 0 } ? errors : null,
        };
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
            _controllerFile.Write(step, _lastInterval, _acks, _consumedLines, _reader.Position, Report);
        }
    }

    public void Dispose()
    {
        if (!_acks.TryFlush(out _) && !_acks.TryFlush(out var error))
        {
            Report(new RuntimeDiagnostic("acks-unwritten", $"Stopping with {_acks.Pending} acks unwritten ({error!.Message}): applied but not acked: {string.Join(", ", _acks.PendingIds)}. A trainer started on this queue writes their acks from {WriteAheadJournal.FileName} and applies none of them again.", error));
        }

        foreach (var slot in _deferred)
        {
            slot.Line.Dispose();
        }

        _journal.Dispose();
        _appends?.Dispose();
        _state.Dispose();
        _controllerFile.Write(_lastStep, _lastInterval, _acks, _consumedLines, _reader.Position, Report, stopped: true, synchronous: true);
        _held.Clear();
        _reader.Dispose();
        _acks.Dispose();
        _queue.Dispose();
    }

    private static void WriteEcho(Utf8JsonWriter writer, object? value)
    {
        try
        {
            JsonValues.Write(writer, value);
        }
        catch (ArgumentException)
        {
            // A value a validator produced that JSON cannot hold (NaN): echo null rather than a broken file.
            writer.WriteNullValue();
        }
    }

    private void ReleaseHeld(long? step, List<Slot> slots, int max)
    {
        if (step is { } now && _held.Count > 0)
        {
            _held.Release(now, slots, max, _state.MarkAcked);
        }
    }

    private bool IsHeld(string id) => _held.Contains(id);

    private void SaveCursor()
    {
        // Held and deferred commands were read but not applied: the cursor stays at the first of them.
        var held = _held.First;
        if (_deferred.Count > 0 && (held is null || _deferred[0].Line.Offset < held.Value.Offset))
        {
            var first = _deferred[0];
            _state.Offset = first.Line.Offset;
            _state.LinesBeforeOffset = first.LinesBefore;
            _state.AcksOffset = first.AcksOffset;
        }
        else if (held is { } first)
        {
            _state.Offset = first.Offset;
            _state.LinesBeforeOffset = first.LinesBefore;
            _state.AcksOffset = first.AcksOffset;
        }
        else
        {
            _state.Offset = _reader.Position;
            _state.LinesBeforeOffset = _consumedLines;
            _state.AcksOffset = _acks.Length;
        }

        if (_state.HasRecoverable)
        {
            _state.AcksOffset = Math.Min(_state.AcksOffset, _state.RecoverFrom);
        }

        RememberLastLine();
        try
        {
            _state.Save();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cursor is an optimisation: acks.jsonl recovers a stale one.
            Report(new RuntimeDiagnostic("cursor-write-failed", $"Could not save the cursor in '{_queue.Cursor}': {e.Message}. A restarted trainer will recover its place from acks.jsonl.", e));
        }
    }

    private void RememberLastLine()
    {
        if (_reader.Position == 0 || _batch.Lines.Count == 0)
        {
            return;
        }

        var last = _batch.Lines[^1];
        if (last.End != _reader.Position || last.Oversize)
        {
            _state.LastLineStart = -1;
            return;
        }

        _state.LastLineStart = last.Offset;
        _state.LastLineLength = last.Length;
        _state.LastLineHash = QueueState.Hash(_batch.Line(last));
    }

    /// <summary>Whether the bytes before the read position are still the line consumed last (else the file was replaced).</summary>
    private bool LastLineMatches()
    {
        if (_state.LastLineStart < 0 || _reader.Position == 0)
        {
            return true;
        }

        var length = _state.LastLineLength + 1;
        var buffer = length <= 4096 ? stackalloc byte[length] : new byte[length];
        if (_reader.ReadAt(_state.LastLineStart, buffer) != length || buffer[^1] != (byte)'\n')
        {
            return false;
        }

        return QueueState.Hash(buffer[..^1]) == _state.LastLineHash;
    }

    private void CheckIdentity(long nowMs)
    {
        if (nowMs - _lastIdentityCheckMs < IdentityCheckEveryMs && _lastIdentityCheckMs != long.MinValue)
        {
            return;
        }

        _lastIdentityCheckMs = nowMs;
        if (_queue.IsSwapped() && !_swapReported)
        {
            _swapReported = true;
            Report(new RuntimeDiagnostic("queue-directory-replaced", $"The queue directory '{_queue.Path}' was moved or another directory put at its path while the trainer ran. The trainer keeps reading and writing the directory it opened at start and ignores the one at the path; restart it to use another."));
        }

        if (!_queue.TryStat(QueueDirectory.CommandsFile, out var status) || status.Inode == _inode)
        {
            return;
        }

        var inode = status.Inode;

        // commands.jsonl at the path is another file now (rotated or replaced): follow the path.
        _inode = inode;
        _appends?.Wake();
        _reader.Reopen();
        if (_reader.Length() < _reader.Position || !LastLineMatches())
        {
            RestartFromTop();
        }
    }

    private void RestartFromTop()
    {
        Report(new RuntimeDiagnostic("commands-replaced", $"'{_queue.Commands}' was truncated or replaced; reading it from the start and skipping ids that already have acks."));
        _held.Clear();
        foreach (var slot in _deferred)
        {
            slot.Line.Dispose();
        }

        _deferred.Clear();
        _state.Restart();
        _reader.Reopen();
        _reader.Position = 0;
        _consumedLines = 0;
        _inode = _queue.TryStat(QueueDirectory.CommandsFile, out var commands) ? commands.Inode : 0;
    }

    /// <summary>The journal's reserved size: room for a batch's records, and always for one command of the longest line.</summary>
    internal static long JournalCapacity(int maxLineBytes) => (2L * maxLineBytes) + (256 * 1024);

    private bool IsSafeToRepeat(CommandLine line) =>
        line.PathText is { } path && _controls.TryGetValue(path, out var control) && control.SafeToRepeat;

    /// <summary>Moves the slots from <paramref name="from"/> on to the deferred list (copied out of the batch buffer), applied first next time.</summary>
    private void Defer(List<Slot> plan, int from, bool retryNow)
    {
        var at = 0;
        for (var i = from; i < plan.Count; i++)
        {
            var slot = plan[i];
            var line = slot.Line.Bytes.IsEmpty ? slot.Line : CommandLine.Parse(slot.Line.Offset, slot.Line.Bytes.ToArray());
            if (!ReferenceEquals(line, slot.Line))
            {
                slot.Line.Dispose();
            }

            _deferred.Insert(at++, new Slot(line, slot.Refusal, slot.LinesBefore) { AcksOffset = _acks.Length });
        }

        More = retryNow;
    }

    /// <summary>Opens the journal (retried at most once a second while it cannot be) and recovers the last batch once it opens.</summary>
    private bool EnsureJournal(long nowMs)
    {
        if (_journal.IsReady)
        {
            return true;
        }

        // At start (nowMs = long.MinValue) always try, and let the first poll try again at once.
        if (nowMs != long.MinValue && _lastJournalOpenMs != long.MinValue && nowMs - _lastJournalOpenMs < 1000)
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
            Recover();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _journal.Close(); // recovered from scratch at the next try
            ReportJournalFailure(e);
            return false;
        }

        return true;
    }

    /// <summary>Settles the last batch of a trainer that stopped before all its acks were written.</summary>
    private void Recover()
    {
        var now = _options.TimeProvider.GetUtcNow();
        List<string> rewritten = [], unknown = [], repeated = [];
        foreach (var entry in _journal.Recover())
        {
            if (_state.IsAcked(entry.Id))
            {
                continue;
            }

            if (entry.Outcome is { } ack)
            {
                _acks.AppendLine(entry.Id, ack); // applied, but its ack was lost: the real ack
                rewritten.Add(entry.Id);
            }
            else if (entry.SafeToRepeat)
            {
                repeated.Add(entry.Id); // not acked, so read again and applied again, as its control allows
                continue;
            }
            else
            {
                var writer = _acks.Begin(entry.Id, now);
                writer.WritePropertyName("path"u8);
                writer.WriteRawValue(entry.Path);
                writer.WritePropertyName("op"u8);
                writer.WriteRawValue(entry.Op);
                writer.WriteString("status"u8, AckStatus.Failed.ToWire());
                writer.WriteString("error"u8, EffectUnknown);
                if (entry.Step is { } step)
                {
                    writer.WriteNumber("step"u8, step);
                }

                _acks.End();
                unknown.Add(entry.Id);
            }

            _state.AddRecovered(entry.Id);
        }

        if (rewritten.Count + unknown.Count + repeated.Count > 0)
        {
            Report(new RuntimeDiagnostic("journal-recovered", $"The last trainer on '{_queue.Path}' stopped before writing every ack. Acks written from {WriteAheadJournal.FileName}: {Ids(rewritten)}; stopped while applying (acked failed, effect unknown): {Ids(unknown)}; safe to repeat (applied again): {Ids(repeated)}."));
        }

        FlushPendingAcks();

        static string Ids(List<string> ids) => ids.Count == 0 ? "none" : string.Join(", ", ids);
    }

    /// <summary>The error of a command the trainer stopped while applying.</summary>
    internal const string EffectUnknown = "the trainer stopped while applying this command; its effect is unknown. Check the job's state (runtimectl status, controls) and send the command again if it is still wanted";

    private bool CommitJournal()
    {
        if (_journal.TryCommit(out var error))
        {
            if (_journalFailureReported)
            {
                _journalFailureReported = false;
                Report(new RuntimeDiagnostic("journal-write-recovered", $"The write-ahead journal in '{_queue.Path}' is written again; deferred commands are applied."));
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
            Report(new RuntimeDiagnostic("journal-write-failed", $"Cannot write the write-ahead journal '{_queue.Journal}': {error.Message}. No command is applied until it can be (they wait in the queue; none is lost); training goes on.", error));
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
                Report(new RuntimeDiagnostic("ack-write-recovered", $"Acks are written to '{_queue.Acks}' again."));
            }

            SaveCursor();
            return true;
        }

        if (!_ackFailureReported)
        {
            _ackFailureReported = true;
            Report(new RuntimeDiagnostic("ack-write-failed", $"Could not write acks to '{_queue.Acks}': {error!.Message}. The commands stay pending (no new ones are read) and their acks are written once the file can be written again; training goes on.", error));
        }

        return false;
    }

    private void Report(RuntimeDiagnostic diagnostic)
    {
        if (_options.OnDiagnostic is { } handler)
        {
            handler(diagnostic);
        }
        else
        {
            Console.Error.WriteLine("runtimectl: " + diagnostic.Message);
        }
    }

    private static long Offset(ReadOnlySpan<byte> whole, ReadOnlySpan<byte> part) =>
        System.Runtime.CompilerServices.Unsafe.ByteOffset(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(whole),
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(part));

    /// <summary>Trims what Python's <c>str.strip()</c> trims: ASCII whitespace and Unicode white space.</summary>
    internal static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> line)
    {
        while (!line.IsEmpty)
        {
            if (line[0] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0x0B or 0x0C or 0x1C or 0x1D or 0x1E or 0x1F)
            {
                line = line[1..];
            }
            else if (line[0] >= 0x80 && System.Text.Rune.DecodeFromUtf8(line, out var rune, out var used) == System.Buffers.OperationStatus.Done && System.Text.Rune.IsWhiteSpace(rune))
            {
                line = line[used..];
            }
            else
            {
                break;
            }
        }

        while (!line.IsEmpty)
        {
            if (line[^1] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0x0B or 0x0C or 0x1C or 0x1D or 0x1E or 0x1F)
            {
                line = line[..^1];
            }
            else if (line[^1] >= 0x80 && System.Text.Rune.DecodeLastFromUtf8(line, out var rune, out var used) == System.Buffers.OperationStatus.Done && System.Text.Rune.IsWhiteSpace(rune))
            {
                line = line[..^used];
            }
            else
            {
                break;
            }
        }

        return line;
    }
}
