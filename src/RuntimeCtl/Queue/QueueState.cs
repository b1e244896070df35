using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// What the trainer knows beyond the two <c>.jsonl</c> files: where to resume reading (the cursor) and which ids
/// have acks. The cursor lives in <c>cursor.json</c>, saved after each batch's acks are flushed; <c>acks.jsonl</c> is
/// the truth, so a missing, stale or torn cursor is recovered from it.
/// </summary>
/// <remarks>
/// The first save of a run replaces the file atomically (a temporary file and a rename); the later ones overwrite it
/// in place with one <c>pwrite</c> of <see cref="CursorBytes"/> bytes (the JSON padded with spaces), so a poll costs no
/// rename. The JSON ends with a <c>check</c>: the FNV-1a hash of the bytes before it, so a write torn by a power loss
/// is read as no cursor (and recovered from <c>acks.jsonl</c>), never as a mix of two cursors.
/// </remarks>
internal sealed class QueueState : IDisposable
{
    /// <summary>The size of <c>cursor.json</c> once it is written in place.</summary>
    public const int CursorBytes = 320;

    private static readonly byte[] CheckKey = ",\"check\":\""u8.ToArray();

    private readonly QueueDirectory _queue;
    private readonly System.Buffers.ArrayBufferWriter<byte> _cursorBytes = new(CursorBytes);
    private readonly byte[] _cursorBlock = new byte[CursorBytes];
    private Utf8JsonWriter? _cursorWriter;
    private FileStream? _cursorFile;
    private readonly int _window;
    private AckedIds _acked;
    private Dictionary<ulong, int> _recoverable = [];

    public QueueState(QueueDirectory queue, int window = AckedIds.DefaultWindow)
    {
        _queue = queue;
        _window = window;
        _acked = new AckedIds(window);
    }

    /// <summary>Gets how many times an id the filter of older ids may hold was looked up in <c>acks.jsonl</c>.</summary>
    internal int DiskLookups { get; private set; }

    /// <summary>Gets the cursor last loaded or committed.</summary>
    public QueueCursor Cursor { get; private set; } = QueueCursor.Start;

    /// <summary>Gets the number of lines in <c>acks.jsonl</c> when it was loaded.</summary>
    public long AckLines { get; private set; }

    /// <summary>Loads the cursor and the acked ids. Acks after the cursor's ack offset are ones a killed trainer wrote
    /// after its last cursor: their commands are skipped once, silently, when read again.</summary>
    /// <param name="resume">
    /// Told the cursor before the acks are scanned; false when <c>commands.jsonl</c> no longer holds it, and the
    /// queue is read from the top as after <see cref="Restart"/> (with one scan of <c>acks.jsonl</c>, not two).
    /// </param>
    public void Load(Func<QueueCursor, bool>? resume = null)
    {
        Cursor = TryLoadCursor() ?? QueueCursor.Start;
        if (resume is not null && !resume(Cursor))
        {
            Cursor = Cursor with { Offset = 0, Lines = 0, Last = LastLine.None };
            RecoverFrom = 0;
        }
        else
        {
            RecoverFrom = Cursor.AcksOffset;
        }

        ScanAcks(RecoverFrom);
    }

    /// <summary>Gets the offset in <c>acks.jsonl</c> from which acks were taken as skippable (<see cref="TrySkipRecovered"/>).</summary>
    public long RecoverFrom { get; private set; }

    /// <summary>Gets whether some acked lines are still to be read again and skipped: until then a saved cursor must
    /// keep its ack offset at <see cref="RecoverFrom"/>, or a restart would take those lines for duplicates.</summary>
    public bool HasRecoverable => _recoverable.Count > 0;

    /// <summary>Forgets the cursor (the commands file was replaced): every acked id becomes skippable once.</summary>
    public void Restart()
    {
        Cursor = Cursor with { Offset = 0, Lines = 0, Last = LastLine.None };
        RecoverFrom = 0;
        ScanAcks(0);
    }

    public bool TrySkipRecovered(string id)
    {
        var hash = Hash(id);
        if (_recoverable.TryGetValue(hash, out var count) && count > 0)
        {
            if (count == 1)
            {
                _recoverable.Remove(hash);
            }
            else
            {
                _recoverable[hash] = count - 1;
            }

            return true;
        }

        return false;
    }

    public bool IsAcked(string id)
    {
        var hash = Hash(id);
        return _acked.IsRecent(hash) || (_acked.MayBeOlder(hash) && IsAckedOnDisk(hash));
    }

    /// <summary>Confirms an id the filter may hold against <c>acks.jsonl</c> (a stream of the whole file; rare).</summary>
    private bool IsAckedOnDisk(ulong hash)
    {
        DiskLookups++;
        try
        {
            using var stream = _queue.OpenFile(QueueDirectory.AcksFile, FileMode.Open, FileAccess.Read);
            var found = false;
            ForEachId(stream, (_, id) => found |= Hash(id) == hash);
            return found;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true; // cannot be confirmed: refusing a new command is recoverable (send it again), applying one twice is not
        }
    }

    public void MarkAcked(string id) => _acked.Add(Hash(id));

    /// <summary>Counts an ack recovered from the journal: its id is acked, and its line is skipped once when read again.</summary>
    public void AddRecovered(string id)
    {
        var hash = Hash(id);
        _acked.Add(hash);
        _recoverable[hash] = _recoverable.GetValueOrDefault(hash) + 1;
    }

    /// <summary>
    /// Saves <paramref name="cursor"/> as the place to resume. While lines acked by a killed trainer are still to be
    /// skipped, its ack offset is kept at <see cref="RecoverFrom"/> (else a restart would take them for duplicates).
    /// </summary>
    /// <exception cref="IOException">The file could not be written; <see cref="Cursor"/> is the new value all the same.</exception>
    public void Commit(QueueCursor cursor)
    {
        Cursor = HasRecoverable ? cursor with { AcksOffset = Math.Min(cursor.AcksOffset, RecoverFrom) } : cursor;
        Save(Cursor);
    }

    private void Save(QueueCursor cursor)
    {
        var buffer = _cursorBytes;
        buffer.ResetWrittenCount();
        var writer = _cursorWriter ??= new Utf8JsonWriter(buffer, JsonFormat.WriterOptions);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteNumber("format"u8, 1);
        writer.WriteNumber("offset"u8, cursor.Offset);
        writer.WriteNumber("lines"u8, cursor.Lines);
        writer.WriteNumber("acks_offset"u8, cursor.AcksOffset);
        writer.WriteNumber("last_line_start"u8, cursor.Last.Start);
        writer.WriteNumber("last_line_length"u8, cursor.Last.Length);
        writer.WriteString("last_line_hash"u8, cursor.Last.Hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
        writer.Flush();
        Span<char> check = stackalloc char[16];
        Hash(buffer.WrittenSpan).TryFormat(check, out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
        writer.WriteString("check"u8, check);
        writer.WriteEndObject();
        writer.Flush();

        var json = buffer.WrittenSpan;
        if (json.Length >= CursorBytes)
        {
            CloseCursorFile();
            _queue.Replace(QueueDirectory.CursorFile, json); // cannot happen with 64-bit numbers; kept exact if it does
            return;
        }

        var block = _cursorBlock.AsSpan();
        json.CopyTo(block);
        block[json.Length..^1].Fill((byte)' ');
        block[^1] = (byte)'\n';
        if (_cursorFile is null)
        {
            _queue.Replace(QueueDirectory.CursorFile, block);
            _cursorFile = _queue.OpenFile(QueueDirectory.CursorFile, FileMode.Open, FileAccess.Write);
            return;
        }

        try
        {
            RandomAccess.Write(_cursorFile.SafeFileHandle, block, fileOffset: 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            CloseCursorFile(); // the next save replaces the file again
            throw;
        }
    }

    public void Dispose()
    {
        CloseCursorFile();
        _cursorWriter?.Dispose();
    }

    private void CloseCursorFile()
    {
        _cursorFile?.Dispose();
        _cursorFile = null;
    }

    /// <summary>FNV-1a, 64 bits: ids are kept as hashes so a long run's id set stays small.</summary>
    public static ulong Hash(string id)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    public static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    private QueueCursor? TryLoadCursor()
    {
        try
        {
            if (!_queue.TryStat(QueueDirectory.CursorFile, out _))
            {
                return null;
            }

            byte[] bytes;
            using (var stream = _queue.OpenFile(QueueDirectory.CursorFile, FileMode.Open, FileAccess.Read))
            {
                bytes = new byte[Math.Min(stream.Length, 64 * 1024)];
                stream.ReadExactly(bytes);
            }

            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            var checkAt = bytes.AsSpan().IndexOf(CheckKey);
            if (root.TryGetProperty("check", out var check) &&
                (checkAt < 0 || check.GetString() != Hash(bytes.AsSpan(0, checkAt)).ToString("x16", System.Globalization.CultureInfo.InvariantCulture)))
            {
                return null; // torn (or edited): recovered from acks.jsonl
            }

            var cursor = new QueueCursor(
                root.GetProperty("offset").GetInt64(),
                root.GetProperty("lines").GetInt64(),
                root.GetProperty("acks_offset").GetInt64(),
                new LastLine(
                    root.GetProperty("last_line_start").GetInt64(),
                    root.GetProperty("last_line_length").GetInt32(),
                    ulong.Parse(root.GetProperty("last_line_hash").GetString()!, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)));
            var acksLength = _queue.TryStat(QueueDirectory.AcksFile, out var acks) ? acks.Size : 0;
            return cursor.Offset >= 0 && cursor.AcksOffset >= 0 && cursor.AcksOffset <= acksLength ? cursor : null;
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or KeyNotFoundException or FormatException or OverflowException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Streams <c>acks.jsonl</c> once: every id into the acked set, ids after <paramref name="recoverFrom"/> into the skippable counts.</summary>
    private void ScanAcks(long recoverFrom)
    {
        // Built aside and swapped in at the end: a read that fails half-way leaves the known acked ids intact.
        var acked = new AckedIds(_window);
        var recoverable = new Dictionary<ulong, int>();
        using var stream = _queue.OpenFile(QueueDirectory.AcksFile, FileMode.Open, FileAccess.Read);
        var lines = ForEachId(stream, (lineStart, id) =>
        {
            var hash = Hash(id);
            acked.Add(hash);
            if (lineStart >= recoverFrom)
            {
                recoverable[hash] = recoverable.GetValueOrDefault(hash) + 1;
            }
        });

        AckLines = lines;
        _acked = acked;
        _recoverable = recoverable;
    }

    /// <summary>Streams an acks file once, handing each line's offset and id (when it has one) to <paramref name="onId"/>.</summary>
    /// <returns>The number of complete lines.</returns>
    internal static long ForEachId(Stream stream, Action<long, string> onId)
    {
        long lines = 0;
        long offset = 0;
        var buffer = new byte[1 << 16];
        var pending = new MemoryStream();
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var span = buffer.AsSpan(0, read);
            while (true)
            {
                var index = span.IndexOf((byte)'\n');
                if (index < 0)
                {
                    pending.Write(span);
                    break;
                }

                ReadOnlySpan<byte> line;
                if (pending.Length > 0)
                {
                    pending.Write(span[..index]);
                    line = pending.GetBuffer().AsSpan(0, (int)pending.Length);
                }
                else
                {
                    line = span[..index];
                }

                var lineStart = offset;
                offset += line.Length + 1;
                lines++;
                if (TryReadId(LineText.Trim(line, lineStart)) is { } id)
                {
                    onId(lineStart, id);
                }

                pending.SetLength(0);
                span = span[(index + 1)..];
            }
        }

        return lines;
    }

    internal static string? TryReadId(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
        }

        return null;
    }
}
