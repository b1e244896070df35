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
internal sealed record HistoryEntry(long Line, string Id, JsonElement? Command, string? Invalid, string Status, long? Step, string? Error)
{
    /// <summary>Gets a field of the command, or null when absent.</summary>
    public JsonElement? Field(string name) => Command is { } c && c.TryGetProperty(name, out var value) ? value : null;
}

/// <summary>
/// Joins <c>commands.jsonl</c> with <c>acks.jsonl</c> in file order, streaming: the commands are read one line at a
/// time and only an index of the acks is held (an id hash and an offset per ack), so a queue of millions of lines is
/// listed in bounded memory. Lines are read as the trainer reads them (the same ids for lines without one, the same
/// limit for over-long lines, a BOM skipped, a torn last line left out).
/// </summary>
internal static class CommandHistory
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Lists the commands of <paramref name="queueDirectory"/>.</summary>
    /// <param name="queueDirectory">The queue directory.</param>
    /// <param name="maxLineBytes">The trainer's line limit (from <c>controller.json</c>, else the default).</param>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static IEnumerable<HistoryEntry> Read(string queueDirectory, int maxLineBytes)
    {
        var commands = Path.Combine(queueDirectory, QueueDirectory.CommandsFile);
        var acksPath = Path.Combine(queueDirectory, QueueDirectory.AcksFile);
        var acks = AckIndex.Build(acksPath);
        if (!File.Exists(commands))
        {
            yield break;
        }

        using var ackHandle = File.Exists(acksPath) ? NativeFile.OpenRead(acksPath) : null;
        using var handle = NativeFile.OpenRead(commands);
        var length = RandomAccess.GetLength(handle);
        var block = new byte[BlockSize];
        var line = new MemoryStream();
        long position = 0, lineStart = 0, lineNumber = 0;
        var oversize = false;
        while (position < length)
        {
            var read = RandomAccess.Read(handle, block, position);
            if (read <= 0)
            {
                break;
            }

            // Indices, not spans: this is an iterator, and a span cannot live across a yield.
            var at = 0;
            var dataStart = position;
            position += read;
            if (dataStart == 0 && read >= 3 && block[0] == 0xEF && block[1] == 0xBB && block[2] == 0xBF)
            {
                at = 3;
                lineStart = 3;
            }

            while (at < read)
            {
                var newline = Array.IndexOf(block, (byte)'\n', at, read - at);
                var partLength = (newline < 0 ? read : newline) - at;
                if (!oversize && line.Length + partLength > maxLineBytes)
                {
                    oversize = true;
                    line.SetLength(0);
                }

                if (!oversize)
                {
                    line.Write(block, at, partLength);
                }

                if (newline < 0)
                {
                    break;
                }

                var end = dataStart + newline + 1;
                lineNumber++;
                var entry = Entry(lineNumber, lineStart, end, oversize, line, maxLineBytes, acks, ackHandle);
                line.SetLength(0);
                oversize = false;
                lineStart = end;
                at = newline + 1;
                if (entry is not null)
                {
                    yield return entry;
                }
            }
        }
    }

    private static HistoryEntry? Entry(long number, long offset, long end, bool oversize, MemoryStream line, int limit, AckIndex acks, Microsoft.Win32.SafeHandles.SafeFileHandle? ackHandle)
    {
        string id;
        JsonElement? command = null;
        string? invalid;
        if (oversize)
        {
            var over = CommandLine.Oversize(offset, end, limit);
            id = over.Id;
            invalid = over.Invalid;
        }
        else
        {
            var bytes = QueueEngine<object>.Trim(line.GetBuffer().AsSpan(0, (int)line.Length));
            if (bytes.IsEmpty)
            {
                return null; // blank lines get no ack, as the original
            }

            using var parsed = CommandLine.Parse(offset, bytes.ToArray());
            id = parsed.Id;
            invalid = parsed.Invalid;
            if (invalid is null)
            {
                using var document = JsonDocument.Parse(bytes.ToArray(), JsonFormat.DocumentOptions);
                command = document.RootElement.Clone();
            }
        }

        if (ackHandle is null || acks.Take(id) is not { } ackOffset || ReadAck(ackHandle, ackOffset) is not { } ack)
        {
            return new HistoryEntry(number, id, command, invalid, "pending", null, null);
        }

        var root = ack.RootElement;
        var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "unknown";
        long? step = root.TryGetProperty("step", out var st) && st.TryGetInt64(out var n) ? n : null;
        var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        ack.Dispose();
        return new HistoryEntry(number, id, command, invalid, status, step, error);
    }

    private static JsonDocument? ReadAck(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long offset)
    {
        var buffer = new MemoryStream();
        var block = new byte[4096];
        for (var at = offset; ; at += block.Length)
        {
            var read = RandomAccess.Read(handle, block, at);
            if (read <= 0)
            {
                break;
            }

            var newline = Array.IndexOf(block, (byte)'\n', 0, read);
            buffer.Write(block, 0, newline < 0 ? read : newline);
            if (newline >= 0 || buffer.Length > 4 * 1024 * 1024)
            {
                break;
            }
        }

        try
        {
            return JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The place of every ack by id (a hash), in file order: a duplicate id's second ack goes to its second line.</summary>
    private sealed class AckIndex
    {
        private readonly Dictionary<ulong, long> _first = [];
        private readonly Dictionary<ulong, Queue<long>> _more = [];

        public static AckIndex Build(string path)
        {
            var index = new AckIndex();
            if (!File.Exists(path))
            {
                return index;
            }

            using var handle = NativeFile.OpenRead(path);
            var length = RandomAccess.GetLength(handle);
            var block = new byte[BlockSize];
            var line = new MemoryStream();
            long position = 0, lineStart = 0;
            while (position < length)
            {
                var read = RandomAccess.Read(handle, block, position);
                if (read <= 0)
                {
                    break;
                }

                var data = block.AsSpan(0, read);
                var dataStart = position;
                position += read;
                while (!data.IsEmpty)
                {
                    var newline = data.IndexOf((byte)'\n');
                    var part = newline < 0 ? data : data[..newline];
                    if (line.Length < 64 * 1024)
                    {
                        line.Write(part); // the id comes first in an ack: its head is enough
                    }

                    if (newline < 0)
                    {
                        break;
                    }

                    if (QueueState.TryReadId(line.GetBuffer().AsSpan(0, (int)line.Length)) is { } id)
                    {
                        index.Add(QueueState.Hash(id), lineStart);
                    }

                    line.SetLength(0);
                    lineStart = dataStart + newline + 1;
                    dataStart = lineStart;
                    data = data[(newline + 1)..];
                }
            }

            return index;
        }

        public long? Take(string id)
        {
            var hash = QueueState.Hash(id);
            if (_first.Remove(hash, out var offset))
            {
                if (_more.TryGetValue(hash, out var more))
                {
                    _first[hash] = more.Dequeue();
                    if (more.Count == 0)
                    {
                        _more.Remove(hash);
                    }
                }

                return offset;
            }

            return null;
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
