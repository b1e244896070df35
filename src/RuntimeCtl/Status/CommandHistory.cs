using System.Text.Json;

namespace RuntimeCtl;

/// <summary>One command of a queue with its outcome, as <c>runtimectl history</c> lists it.</summary>
/// <param name="Line">The command's line number in <c>commands.jsonl</c> (1-based, blank lines counted).</param>
/// <param name="Id">The command's id, or the one the trainer generates for a line without one.</param>
/// <param name="Command">The command's JSON object, or null for a line that is not one (see <paramref name="Invalid"/>).</param>
/// <param name="Invalid">Why the line is not a usable command, or null.</param>
/// <param name="Status"><c>applied</c>, <c>rejected</c>, <c>failed</c>, or <c>pending</c> (no ack yet).</param>
/// <param name="Step">The step in the ack, or null.</param>
/// <param name="Error">The ack's error, or null.</param>
public sealed record HistoryEntry(long Line, string Id, JsonElement? Command, string? Invalid, string Status, long? Step, string? Error)
{
    /// <summary>Gets a field of the command, or null when absent.</summary>
    public JsonElement? Field(string name) => Command is { } c && c.TryGetProperty(name, out var value) ? value : null;
}

/// <summary>
/// Joins <c>commands.jsonl</c> with <c>acks.jsonl</c> in file order, streaming: the commands are read in bounded
/// batches by the trainer's own <see cref="CommandReader"/> (so the same ids for lines without one, the same limit
/// for over-long lines, a BOM skipped, a torn last line left out), and only an index of the acks is held (an id hash
/// and an offset per ack), so a queue of millions of lines is listed in bounded memory.
/// </summary>
public static class CommandHistory
{
    private const int BatchLines = 1024;
    private const int BatchBytes = 4 * 1024 * 1024;

    /// <summary>Lists the commands of <paramref name="queueDirectory"/>, in file order, as the trainer reads them (with its line limit from <c>controller.json</c>, else the default).</summary>
    /// <param name="queueDirectory">The queue directory.</param>
    /// <returns>The commands, read lazily in bounded batches: enumerate once.</returns>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static IEnumerable<HistoryEntry> Read(string queueDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queueDirectory);
        return Read(queueDirectory, TrainerLineLimit(queueDirectory));
    }

    /// <summary>The trainer's line limit, from its <c>controller.json</c>, else the default.</summary>
    internal static int TrainerLineLimit(string queueDirectory) =>
        ControllerSnapshot.TryRead(Path.Combine(queueDirectory, QueueDirectory.ControllerFile), out _)?.MaxLineBytes is { } max and > 0 and <= int.MaxValue
            ? (int)max
            : new RuntimeControllerOptions().MaxLineBytes;

    /// <summary>Lists the commands of <paramref name="queueDirectory"/> with the line limit <paramref name="maxLineBytes"/>.</summary>
    /// <param name="queueDirectory">The queue directory.</param>
    /// <param name="maxLineBytes">The trainer's line limit.</param>
    /// <exception cref="IOException">A file cannot be read.</exception>
    internal static IEnumerable<HistoryEntry> Read(string queueDirectory, int maxLineBytes)
    {
        using var queue = new QueueDirectory(queueDirectory);
        if (!queue.TryStat(QueueDirectory.CommandsFile, out _))
        {
            yield break;
        }

        using var acks = AckIndex.Build(queue);
        using var reader = new CommandReader(queue, maxLineBytes);
        var batch = new LineBatch(BatchBytes + maxLineBytes + 1);
        long number = 0;
        while (true)
        {
            batch.Clear();
            reader.Read(batch, BatchLines, BatchBytes);
            if (batch.Lines.Count == 0)
            {
                yield break;
            }

            // Built per batch: the lines' bytes are spans into the batch, which an iterator cannot hold across a yield.
            var entries = new List<HistoryEntry>(batch.Lines.Count);
            foreach (var raw in batch.Lines)
            {
                if (Entry(++number, raw, batch, maxLineBytes, acks) is { } entry)
                {
                    entries.Add(entry);
                }
            }

            foreach (var entry in entries)
            {
                yield return entry;
            }
        }
    }

    private static HistoryEntry? Entry(long number, RawLine raw, LineBatch batch, int limit, AckIndex acks)
    {
        string id;
        JsonElement? command = null;
        string? invalid;
        if (raw.Oversize)
        {
            var over = CommandLine.Oversize(raw.Offset, raw.End, limit);
            id = over.Id;
            invalid = over.Invalid;
        }
        else
        {
            var bytes = LineText.Trim(batch.Line(raw)).ToArray();
            if (bytes.Length == 0)
            {
                return null; // blank lines get no ack, as the original
            }

            using var parsed = CommandLine.Parse(raw.Offset, bytes);
            id = parsed.Id;
            invalid = parsed.Invalid;
            if (invalid is null)
            {
                using var document = JsonDocument.Parse(bytes, JsonFormat.DocumentOptions);
                command = document.RootElement.Clone();
            }
        }

        if (acks.Take(id) is not { } ack)
        {
            return new HistoryEntry(number, id, command, invalid, "pending", null, null);
        }

        using (ack)
        {
            var root = ack.RootElement;
            var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "unknown";
            long? step = root.TryGetProperty("step", out var st) && st.TryGetInt64(out var n) ? n : null;
            var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            return new HistoryEntry(number, id, command, invalid, status, step, error);
        }
    }

    /// <summary>The place of every ack by id (a hash), in file order: a duplicate id's second ack goes to its second line.</summary>
    private sealed class AckIndex : IDisposable
    {
        private readonly Dictionary<ulong, long> _first = [];
        private readonly Dictionary<ulong, Queue<long>> _more = [];
        private FileStream? _acks;

        public static AckIndex Build(QueueDirectory queue)
        {
            var index = new AckIndex();
            if (queue.TryStat(QueueDirectory.AcksFile, out _))
            {
                index._acks = queue.OpenFile(QueueDirectory.AcksFile, FileMode.Open, FileAccess.Read);
                QueueState.ForEachId(index._acks, (offset, id) => index.Add(QueueState.Hash(id), offset));
            }

            return index;
        }

        /// <summary>The next ack of <paramref name="id"/> in file order, parsed, or null.</summary>
        public JsonDocument? Take(string id)
        {
            var hash = QueueState.Hash(id);
            if (_acks is null || !_first.Remove(hash, out var offset))
            {
                return null;
            }

            if (_more.TryGetValue(hash, out var more))
            {
                _first[hash] = more.Dequeue();
                if (more.Count == 0)
                {
                    _more.Remove(hash);
                }
            }

            return ReadLine(_acks, offset);
        }

        public void Dispose() => _acks?.Dispose();

        private static JsonDocument? ReadLine(FileStream file, long offset)
        {
            var line = new MemoryStream();
            var block = new byte[4096];
            for (var at = offset; line.Length <= LineText.MaxReadBytes; at += block.Length)
            {
                var read = RandomAccess.Read(file.SafeFileHandle, block, at);
                var newline = read > 0 ? Array.IndexOf(block, (byte)'\n', 0, read) : -1;
                line.Write(block, 0, newline < 0 ? Math.Max(read, 0) : newline);
                if (read <= 0 || newline >= 0)
                {
                    break;
                }
            }

            try
            {
                return JsonDocument.Parse(LineText.Trim(line.GetBuffer().AsSpan(0, (int)line.Length), offset).ToArray());
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private void Add(ulong hash, long offset)
        {
            if (!_first.TryAdd(hash, offset))
            {
                if (!_more.TryGetValue(hash, out var more))
                {
                    _more[hash] = more = new Queue<long>();
                }

                more.Enqueue(offset);
            }
        }
    }
}
