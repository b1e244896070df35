namespace RuntimeCtl;

/// <summary>
/// Commands held back until their <c>at_step</c>: indexed by id (for <c>duplicate id</c>), by step (for release) and by
/// offset (the first one pins the cursor), so a line costs O(log n) however many are held. Only the line's bytes are
/// kept; it is parsed again when released. At most <see cref="Capacity"/> are held: a flood of far-off commands
/// costs bounded memory and never slows ordinary ones.
/// </summary>
internal sealed class HeldCommands
{
    /// <summary>The most commands held at once; one more is rejected with a clear ack.</summary>
    public const int Capacity = 10_000;

    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Entry, (long Step, long Offset)> _byStep = new();
    private readonly SortedDictionary<long, Entry> _byOffset = [];

    public int Count => _byId.Count;

    /// <summary>Gets the first held line in file order (where the cursor must stay), or null when none is held.</summary>
    public (long Offset, long LinesBefore, long AcksOffset)? First
    {
        get
        {
            foreach (var (_, entry) in _byOffset)
            {
                return (entry.Offset, entry.LinesBefore, entry.AcksOffset);
            }

            return null;
        }
    }

    /// <summary>The ack error of a command that finds the hold full.</summary>
    public static string Full(long atStep) =>
        $"too many commands are held for later steps ({Capacity}); this one (at_step {atStep}) was not queued. Send it again closer to its step.";

    public bool Contains(string id) => _byId.ContainsKey(id);

    /// <summary>Holds a command; false when <see cref="Capacity"/> are held already.</summary>
    public bool TryAdd(CommandLine line, ReadOnlySpan<byte> bytes, long linesBefore, long acksOffset)
    {
        if (_byId.Count >= Capacity)
        {
            return false;
        }

        var entry = new Entry(line.Id, line.Offset, line.AtStep!.Value, linesBefore, acksOffset, bytes.ToArray());
        _byId[entry.Id] = entry;
        _byStep.Enqueue(entry, (entry.AtStep, entry.Offset));
        _byOffset[entry.Offset] = entry;
        return true;
    }

    /// <summary>Moves up to <paramref name="max"/> - <paramref name="into"/>.Count commands due at <paramref name="step"/> into the plan, in file order.</summary>
    public void Release(long step, List<Slot> into, int max, Action<string> released)
    {
        if (_byId.Count == 0 || into.Count >= max)
        {
            return;
        }

        var start = into.Count;
        List<Entry>? due = null;
        while (into.Count + (due?.Count ?? 0) < max && _byStep.TryPeek(out var entry, out var key) && key.Step <= step)
        {
            _byStep.Dequeue();
            _byId.Remove(entry.Id);
            _byOffset.Remove(entry.Offset);
            (due ??= []).Add(entry);
        }

        if (due is null)
        {
            return;
        }

        due.Sort((a, b) => a.Offset.CompareTo(b.Offset)); // those due together run in file order
        foreach (var entry in due)
        {
            into.Add(new Slot(CommandLine.Parse(entry.Offset, entry.Bytes), null, entry.LinesBefore));
            released(entry.Id);
        }
    }

    public void Clear()
    {
        _byId.Clear();
        _byStep.Clear();
        _byOffset.Clear();
    }

    private sealed record Entry(string Id, long Offset, long AtStep, long LinesBefore, long AcksOffset, byte[] Bytes);
}
