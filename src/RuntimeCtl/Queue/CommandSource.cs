namespace RuntimeCtl;

/// <summary>What one <see cref="CommandSource.Read"/> found.</summary>
internal enum ReadOutcome
{
    /// <summary>No new complete line (or the file cannot be read right now: retried at the next poll).</summary>
    Nothing,

    /// <summary>New lines are in <see cref="CommandSource.Batch"/>.</summary>
    Lines,

    /// <summary>The file was truncated or replaced: the source starts again from its top, and the lines read are its first.</summary>
    Restarted,
}

/// <summary>
/// The read stage: the new complete lines of <c>commands.jsonl</c>, a bounded batch at a time. Follows the file at
/// its path (a rotated file is read from its top), learns of appends from the kernel (<see cref="AppendSignal"/>), and
/// notices a file truncated or rewritten under it by the last line it read (<see cref="LastLine"/>).
/// </summary>
internal sealed class CommandSource : IDisposable
{
    private const long IdentityCheckEveryMs = 1000;

    private readonly QueueDirectory _queue;
    private readonly CommandReader _reader;
    private readonly Action<RuntimeDiagnostic> _report;
    private AppendSignal? _appends; // null: no notifications, every due poll looks at the file
    private ulong _inode;
    private long _lastIdentityCheckMs = long.MinValue;
    private bool _swapReported;

    public CommandSource(QueueDirectory queue, int maxLineBytes, int batchBytes, Action<RuntimeDiagnostic> report)
    {
        _queue = queue;
        _report = report;
        _reader = new CommandReader(queue, maxLineBytes);
        Batch = new LineBatch(batchBytes + maxLineBytes + 1);
    }

    /// <summary>Gets the lines of the last read, valid until the next one.</summary>
    public LineBatch Batch { get; }

    /// <summary>Gets the offset of the first byte not read yet.</summary>
    public long Position => _reader.Position;

    /// <summary>Gets the number of complete lines before <see cref="Position"/>.</summary>
    public long Lines { get; private set; }

    /// <summary>Gets the number of complete lines before the last read's first line.</summary>
    public long LinesBeforeBatch { get; private set; }

    /// <summary>Gets the last complete line read, for the cursor.</summary>
    public LastLine Last { get; private set; } = LastLine.None;

    /// <summary>Gets whether the last read stopped at its line or byte budget with more complete lines waiting.</summary>
    public bool More { get; private set; }

    /// <summary>Starts the kernel's notifications of appends (none on a network file system, where another host's writes are not seen).</summary>
    public void Watch(bool localFileSystem) =>
        _appends = AppendSignal.TryStart(_queue.Path, QueueDirectory.CommandsFile, localFileSystem);

    /// <summary>Resumes at <paramref name="cursor"/>, or at the top when the file no longer holds the cursor's last line.</summary>
    /// <returns>False when the source starts again from the top instead (the state must forget the cursor).</returns>
    /// <exception cref="IOException"><c>commands.jsonl</c> cannot be opened.</exception>
    public bool TryResume(QueueCursor cursor)
    {
        _reader.Position = cursor.Offset;
        Lines = cursor.Lines;
        Last = cursor.Last;
        var length = _reader.Length();
        if (length < 0)
        {
            throw new IOException($"'{_queue.Commands}' cannot be opened.");
        }

        var restart = length < cursor.Offset || !LastLineMatches();
        if (restart)
        {
            Rewind();
        }

        _inode = _queue.TryStat(QueueDirectory.CommandsFile, out var commands) ? commands.Inode : 0;
        return !restart;
    }

    /// <summary>Reads up to <paramref name="maxLines"/> new complete lines (at most <paramref name="maxBytes"/> of them) into <see cref="Batch"/>.</summary>
    public ReadOutcome Read(long nowMs, int maxLines, int maxBytes)
    {
        var before = _reader.Position;
        var beforeLines = Lines;
        var restarted = false;
        Batch.Clear();
        More = false;
        long length;
        try
        {
            if (CheckIdentity(nowMs))
            {
                restarted = true;
                before = 0;
                beforeLines = 0;
            }

            if (!restarted && _appends is { } appends && !appends.ShouldLook(nowMs))
            {
                return ReadOutcome.Nothing; // idle, and no write to commands.jsonl was notified since the last look
            }

            length = _reader.Length();
            _appends?.Looked(found: length != _reader.Position);
            if (length == _reader.Position || length < 0)
            {
                return restarted ? ReadOutcome.Restarted : ReadOutcome.Nothing; // nothing new, or it cannot be opened right now
            }

            if (length < _reader.Position || !LastLineMatches())
            {
                Replaced();
                restarted = true;
                before = 0;
                beforeLines = 0;
            }

            _reader.Read(Batch, maxLines, maxBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing of this read was taken yet: read it again at the next poll.
            Batch.Clear();
            _reader.Position = before;
            Lines = beforeLines;
            _reader.Reopen();
            _report(new RuntimeDiagnostic("commands-read-failed", $"Cannot read '{_queue.Commands}': {e.Message}. Retried at the next poll; training goes on.", e));
            return restarted ? ReadOutcome.Restarted : ReadOutcome.Nothing;
        }

        More = Batch.Lines.Count > 0 && _reader.Position < length; // stopped at a cap, not at a write in progress
        LinesBeforeBatch = Lines;
        Lines += Batch.Lines.Count;
        RememberLastLine();
        return restarted ? ReadOutcome.Restarted : Batch.Lines.Count > 0 ? ReadOutcome.Lines : ReadOutcome.Nothing;
    }

    public void Dispose()
    {
        _appends?.Dispose();
        _reader.Dispose();
    }

    private void RememberLastLine()
    {
        if (_reader.Position == 0 || Batch.Lines.Count == 0)
        {
            return;
        }

        var last = Batch.Lines[^1];
        Last = last.End != _reader.Position || last.Oversize
            ? LastLine.None
            : new LastLine(last.Offset, last.Length, QueueState.Hash(Batch.Line(last)));
    }

    /// <summary>Whether the bytes at the last line's place are still that line (else the file was rewritten).</summary>
    private bool LastLineMatches()
    {
        if (!Last.IsKnown || _reader.Position == 0)
        {
            return true;
        }

        var length = Last.Length + 1;
        var buffer = length <= 4096 ? stackalloc byte[length] : new byte[length];
        if (_reader.ReadAt(Last.Start, buffer) != length || buffer[^1] != (byte)'\n')
        {
            return false;
        }

        return QueueState.Hash(buffer[..^1]) == Last.Hash;
    }

    /// <summary>Follows the path: <c>commands.jsonl</c> rotated or replaced by another file is read from its top.</summary>
    /// <returns>Whether the source started again from the top.</returns>
    private bool CheckIdentity(long nowMs)
    {
        if (nowMs - _lastIdentityCheckMs < IdentityCheckEveryMs && _lastIdentityCheckMs != long.MinValue)
        {
            return false;
        }

        _lastIdentityCheckMs = nowMs;
        if (_queue.IsSwapped() && !_swapReported)
        {
            _swapReported = true;
            _report(new RuntimeDiagnostic("queue-directory-replaced", $"The queue directory '{_queue.Path}' was moved or another directory put at its path while the trainer ran. The trainer keeps reading and writing the directory it opened at start and ignores the one at the path; restart it to use another."));
        }

        if (!_queue.TryStat(QueueDirectory.CommandsFile, out var status) || status.Inode == _inode)
        {
            return false;
        }

        _inode = status.Inode;
        _appends?.Wake();
        _reader.Reopen();
        if (_reader.Length() < _reader.Position || !LastLineMatches())
        {
            Replaced();
            return true;
        }

        return false;
    }

    private void Replaced()
    {
        _report(new RuntimeDiagnostic("commands-replaced", $"'{_queue.Commands}' was truncated or replaced; reading it from the start and skipping ids that already have acks."));
        _reader.Reopen();
        Rewind();
        _inode = _queue.TryStat(QueueDirectory.CommandsFile, out var commands) ? commands.Inode : 0;
    }

    private void Rewind()
    {
        _reader.Position = 0;
        Lines = 0;
        Last = LastLine.None;
    }
}
