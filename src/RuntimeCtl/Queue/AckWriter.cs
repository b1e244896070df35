using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// Appends acks to <c>acks.jsonl</c>: one buffer per batch, written with one write and flushed once. A batch that
/// cannot be written stays buffered and is written first by the next <see cref="TryFlush"/>.
/// </summary>
internal sealed class AckWriter : IDisposable
{
    private readonly QueueDirectory _queue;
    private readonly Action<string> _onReplaced;
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly Utf8JsonWriter _json;
    private readonly List<string> _pendingIds = [];
    private readonly bool _sync;
    private FileStream? _stream;
    private long _rollBackTo = -1;

    /// <param name="queue">The queue directory.</param>
    /// <param name="sync">Whether each flush is made durable with <c>fsync</c> (power-loss safety).</param>
    /// <param name="onReplaced">Told when <c>acks.jsonl</c> at its name is another file than the one open (the new one is used).</param>
    public AckWriter(QueueDirectory queue, bool sync = false, Action<string>? onReplaced = null)
    {
        _queue = queue;
        _onReplaced = onReplaced ?? (_ => { });
        _sync = sync;
        _json = new Utf8JsonWriter(_buffer, JsonFormat.WriterOptions);
    }

    /// <summary>Gets the ids of the acks buffered but not written yet, in order.</summary>
    public IReadOnlyList<string> PendingIds => _pendingIds;

    /// <summary>Gets the number of acks buffered but not written yet.</summary>
    public int Pending { get; private set; }

    /// <summary>Gets the length of <c>acks.jsonl</c> after the last successful flush.</summary>
    public long Length { get; private set; }

    /// <summary>Gets the number of lines in <c>acks.jsonl</c> after the last successful flush.</summary>
    public long Lines { get; set; }

    /// <summary>Starts an ack; the caller writes the fields after <c>id</c> and <c>ts</c> and calls <see cref="End"/>.</summary>
    private Utf8JsonWriter Begin(string id, DateTimeOffset timestamp)
    {
        _json.Flush();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString("id"u8, id);
        _json.WritePropertyName("ts"u8);
        JsonFormat.WriteTimestamp(_json, timestamp);
        _pendingIds.Add(id);
        return _json;
    }

    /// <summary>
    /// The record stage: buffers the ack of one command (the only place an ack is built) and returns it. A refused
    /// slot is rejected with its refusal; a dispatched one takes its outcome, made failed by the first rank that failed.
    /// </summary>
    /// <param name="line">The command.</param>
    /// <param name="refusal">The error of a command refused before dispatch, else null.</param>
    /// <param name="outcome">What this rank's control did (dispatched commands only).</param>
    /// <param name="step">The step of the poll, if it has one.</param>
    /// <param name="ranks">The world size (written when above 1).</param>
    /// <param name="rankErrors">The failures of the other ranks by rank, if any.</param>
    /// <param name="timestamp">The time of the batch.</param>
    public Ack Write<TContext>(CommandLine line, string? refusal, in Outcome<TContext> outcome, long? step, int ranks, IReadOnlyDictionary<int, string>? rankErrors, DateTimeOffset timestamp)
    {
        AckStatus status;
        string? error;
        if (refusal is not null)
        {
            status = AckStatus.Rejected;
            error = refusal;
        }
        else
        {
            status = outcome.Status;
            error = outcome.Error;
            if (status == AckStatus.Applied && rankErrors is { Count: > 0 })
            {
                status = AckStatus.Failed;
                var first = rankErrors.OrderBy(e => e.Key).First();
                error = $"rank {first.Key}: {first.Value}";
            }
        }

        var failures = status == AckStatus.Failed && rankErrors is { Count: > 0 } ? rankErrors : null;
        var start = _buffer.WrittenCount;
        var writer = Begin(line.Id, timestamp);
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
            if (failures is not null)
            {
                writer.WritePropertyName("rank_errors"u8);
                writer.WriteStartObject();
                foreach (var (rank, message) in failures.OrderBy(e => e.Key))
                {
                    writer.WriteString(rank.ToString(CultureInfo.InvariantCulture), message);
                }

                writer.WriteEndObject();
            }
        }

        End();
        return new Ack(
            _buffer.WrittenSpan[start..^1].ToArray(),
            line.Id,
            timestamp,
            line.Invalid is not null ? string.Empty : line.Path is null ? null : line.PathForMessage(),
            line.Invalid is not null ? "invalid" : line.OpText(),
            status,
            status == AckStatus.Applied ? null : error,
            step,
            ranks > 1 ? ranks : null,
            failures);
    }

    /// <summary>Buffers the failed ack of a command a trainer stopped while applying (from its journal entry).</summary>
    public void WriteEffectUnknown(JournalEntry entry, DateTimeOffset timestamp)
    {
        var writer = Begin(entry.Id, timestamp);
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

        End();
    }

    /// <summary>The error of a command the trainer stopped while applying.</summary>
    internal const string EffectUnknown = "the trainer stopped while applying this command; its effect is unknown. Check the job's state (runtimectl status, controls) and send the command again if it is still wanted";

    /// <summary>Buffers a whole ack line written before (recovered from the journal), without its newline.</summary>
    public void AppendLine(string id, ReadOnlySpan<byte> ack)
    {
        _json.Flush();
        _buffer.Write(ack);
        _buffer.Write("\n"u8);
        _pendingIds.Add(id);
        Pending++;
    }

    private void End()
    {
        _json.WriteEndObject();
        _json.Flush();
        _buffer.Write("\n"u8);
        Pending++;
    }

    /// <summary>Writes the buffered acks. Returns false (keeping them) when the file cannot be written.</summary>
    public bool TryFlush(out Exception? error)
    {
        error = null;
        if (Pending == 0)
        {
            return true;
        }

        try
        {
            var stream = Open();
            _rollBackTo = Length;
            stream.Write(_buffer.WrittenSpan);
            stream.Flush(flushToDisk: _sync);
            _rollBackTo = -1;
            Length = stream.Length;
            Lines += Pending;
            _buffer.Clear();
            _pendingIds.Clear();
            Pending = 0;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e;
            RollBack();
            _stream?.Dispose();
            _stream = null;
            return false;
        }
    }

    /// <summary>Opens the file (creating it 0600 if it was removed) and terminates a torn last line.</summary>
    public FileStream Open()
    {
        if (_stream is not null)
        {
            // The file at the name must still be the one open: one deleted or replaced would swallow the acks.
            if (_queue.TryStat(QueueDirectory.AcksFile, out var atName) && UnixFileStatus.TryFStat((int)_stream.SafeFileHandle.DangerousGetHandle(), out var open)
                && atName.Device == open.Device && atName.Inode == open.Inode)
            {
                return _stream;
            }

            if (!UnixFileStatus.IsSupported && _queue.TryStat(QueueDirectory.AcksFile, out _))
            {
                return _stream;
            }

            _onReplaced(QueueDirectory.AcksFile);
        }

        _stream?.Dispose();
        _stream = null;
        var stream = _queue.OpenFile(QueueDirectory.AcksFile, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        try
        {
            if (_rollBackTo >= 0 && stream.Length > _rollBackTo)
            {
                // Part of a batch that failed is in the file: take it back, or the retry would write those acks twice.
                stream.SetLength(_rollBackTo);
            }

            _rollBackTo = -1;
            var length = stream.Length;
            if (length > 0)
            {
                // A trainer killed mid-write leaves a torn last line: end it so the next ack is a line of its own.
                stream.Position = length - 1;
                if (stream.ReadByte() != '\n')
                {
                    stream.Position = length;
                    stream.Write("\n"u8);
                    stream.Flush();
                }
            }

            stream.Position = stream.Length;
            Length = stream.Length;
            _stream = stream;
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Takes back the bytes of a batch that failed part-way (a full disk), so its retry writes each ack once.</summary>
    private void RollBack()
    {
        try
        {
            if (_stream is not null && _rollBackTo >= 0 && _stream.Length > _rollBackTo)
            {
                _stream.SetLength(_rollBackTo);
            }

            _rollBackTo = _stream is null ? _rollBackTo : -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Kept in _rollBackTo: the next Open takes the bytes back.
        }
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _json.Dispose();
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
}
