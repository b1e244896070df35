namespace RuntimeCtl;

/// <summary>One command of a batch, in file order: refused up front, or dispatched to the controls.</summary>
internal sealed class Slot(CommandLine line, string? refusal, long linesBefore, long acksOffset = 0)
{
    public CommandLine Line { get; } = line;

    /// <summary>Gets the error of a command refused before dispatch (or of an invalid line), else null.</summary>
    public string? Refusal { get; } = refusal;

    /// <summary>Gets the number of lines before this one, for a cursor pinned at it.</summary>
    public long LinesBefore { get; } = linesBefore;

    /// <summary>Gets the length of <c>acks.jsonl</c> when the slot was deferred, for a cursor pinned at it.</summary>
    public long AcksOffset { get; } = acksOffset;
}

/// <summary>
/// The plan stage: decides for each line read what happens to it, in file order. An invalid line, a refused one
/// (bad shape, a duplicate id, an <c>at_step</c> a stepless loop cannot honour) gets a rejected ack; a line acked by a
/// killed run is skipped; an <c>at_step</c> in the future is held (<see cref="HeldCommands"/>); the rest are dispatched.
/// Commands held until now and commands deferred by the execute stage come first in the next plan.
/// </summary>
internal sealed class CommandPlanner : IDisposable
{
    private readonly QueueState _state;
    private readonly int _maxLineBytes;
    private readonly HeldCommands _held = new();
    private readonly List<Slot> _plan = [];
    private readonly List<Slot> _deferred = [];

    public CommandPlanner(QueueState state, int maxLineBytes)
    {
        _state = state;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>Gets the number of commands read but not planned yet: held for a step, or deferred.</summary>
    public int Waiting => _held.Count + _deferred.Count;

    /// <summary>Gets the first command read but not settled, in file order, where the cursor must stay; null when none.</summary>
    public (long Offset, long LinesBefore, long AcksOffset)? Pinned
    {
        get
        {
            var held = _held.First;
            if (_deferred.Count > 0 && (held is null || _deferred[0].Line.Offset < held.Value.Offset))
            {
                var first = _deferred[0];
                return (first.Line.Offset, first.LinesBefore, first.AcksOffset);
            }

            return held;
        }
    }

    /// <summary>
    /// Starts a plan (one list, reused: a plan is finished before the next starts) with the commands deferred before,
    /// then those held until <paramref name="step"/>.
    /// </summary>
    /// <returns>Whether the plan has room for lines read now (false: it is full, or deferred commands still wait).</returns>
    public bool Start(long? step, int max, out List<Slot> plan)
    {
        plan = _plan;
        plan.Clear();
        if (_deferred.Count > 0)
        {
            var deferred = Math.Min(_deferred.Count, max);
            plan.AddRange(_deferred.GetRange(0, deferred));
            _deferred.RemoveRange(0, deferred);
            if (_deferred.Count > 0)
            {
                return false;
            }
        }

        if (step is { } now && _held.Count > 0)
        {
            _held.Release(now, plan, max, _state.MarkAcked);
        }

        return plan.Count < max;
    }

    /// <summary>Returns the plan, empty: nothing is planned this time.</summary>
    public List<Slot> Empty()
    {
        _plan.Clear();
        return _plan;
    }

    /// <summary>Gets whether commands deferred before still wait (the poll has more to do).</summary>
    public bool HasDeferred => _deferred.Count > 0;

    /// <summary>Plans the lines of <paramref name="batch"/>; <paramref name="linesBefore"/> is the line count before its first line.</summary>
    public void Add(List<Slot> plan, LineBatch batch, long linesBefore, long? step, long acksLength)
    {
        var lines = linesBefore;
        foreach (var raw in batch.Lines)
        {
            lines++;
            if (raw.Oversize)
            {
                var oversize = CommandLine.Oversize(raw.Offset, raw.End, _maxLineBytes);
                if (!_state.TrySkipRecovered(oversize.Id))
                {
                    Refuse(plan, oversize, "unsupported op: invalid (" + oversize.Invalid + ")", lines - 1);
                }

                continue;
            }

            var whole = batch.Line(raw);
            var bytes = LineText.Trim(whole);
            if (bytes.IsEmpty)
            {
                continue; // blank lines get no ack, as the original
            }

            var line = CommandLine.Parse(raw.Offset, batch.Memory(raw.Start + LineText.OffsetIn(whole, bytes), bytes.Length));
            if (_state.TrySkipRecovered(line.Id))
            {
                line.Dispose();
                continue; // acked by a run that was killed before it saved its cursor
            }

            if (line.Invalid is not null)
            {
                Refuse(plan, line, "unsupported op: invalid (" + line.Invalid + ")", lines - 1);
            }
            else if (line.Refusal is not null)
            {
                Refuse(plan, line, line.Refusal, lines - 1);
            }
            else if (_state.IsAcked(line.Id) || _held.Contains(line.Id))
            {
                plan.Add(new Slot(line, "duplicate id", lines - 1)); // the id is known already: nothing to mark
            }
            else if (line.AtStep is { } atStep && step is null)
            {
                Refuse(plan, line, $"at_step {atStep} cannot be honoured: this trainer polls without a step (pass step: to PollAndApply, or send the command without --at-step)", lines - 1);
            }
            else if (line.AtStep is { } later && step < later)
            {
                // Held lines must outlive the batch buffer: their bytes are copied, and parsed again when due.
                if (_held.TryAdd(line, bytes, lines - 1, acksLength))
                {
                    line.Dispose();
                }
                else
                {
                    Refuse(plan, line, HeldCommands.Full(later), lines - 1);
                }
            }
            else
            {
                plan.Add(new Slot(line, null, lines - 1));
                _state.MarkAcked(line.Id);
            }
        }
    }

    /// <summary>
    /// Takes the slots from <paramref name="from"/> on out of the plan (their lines copied out of the batch buffer):
    /// they come first in the next plan, and the cursor stays at the first of them.
    /// </summary>
    public void Defer(List<Slot> plan, int from, long acksLength)
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

            _deferred.Insert(at++, new Slot(line, slot.Refusal, slot.LinesBefore, acksLength));
        }

        plan.RemoveRange(from, plan.Count - from);
    }

    /// <summary>Forgets what was held and deferred: the file was replaced, and its lines are read again from the top.</summary>
    public void Clear()
    {
        _held.Clear();
        DisposeDeferred();
    }

    public void Dispose() => Clear();

    private void Refuse(List<Slot> plan, CommandLine line, string error, long linesBefore)
    {
        plan.Add(new Slot(line, error, linesBefore));
        _state.MarkAcked(line.Id);
    }

    private void DisposeDeferred()
    {
        foreach (var slot in _deferred)
        {
            slot.Line.Dispose();
        }

        _deferred.Clear();
    }
}
