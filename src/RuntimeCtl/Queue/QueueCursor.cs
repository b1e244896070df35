namespace RuntimeCtl;

/// <summary>The place and hash of a line read from <c>commands.jsonl</c>, to notice a file truncated or rewritten under the trainer.</summary>
/// <param name="Start">The offset of the line's first byte; -1 when no line is known.</param>
/// <param name="Length">The line's length without its newline.</param>
/// <param name="Hash">The FNV-1a hash of the line's bytes (<see cref="QueueState.Hash(ReadOnlySpan{byte})"/>).</param>
internal readonly record struct LastLine(long Start, int Length, ulong Hash)
{
    /// <summary>Gets the value for no known line (nothing read yet, or the last line was oversize).</summary>
    public static LastLine None => new(-1, 0, 0);

    /// <summary>Gets whether a line is known.</summary>
    public bool IsKnown => Start >= 0;
}

/// <summary>
/// Where the trainer resumes reading <c>commands.jsonl</c>, saved in <c>cursor.json</c>. One immutable value,
/// committed whole by <see cref="QueueState.Commit"/>, so its parts always describe the same line boundary.
/// </summary>
/// <param name="Offset">
/// The offset of the first line not settled: every line before it has its ack in <c>acks.jsonl</c> (or is blank, or
/// a repeat that was skipped). A line boundary, or 0.
/// </param>
/// <param name="Lines">The number of complete lines before <paramref name="Offset"/> (the command position).</param>
/// <param name="AcksOffset">
/// The length of <c>acks.jsonl</c> when the line at <paramref name="Offset"/> was read: acks after it may belong to
/// lines after the cursor that a killed trainer settled, and are skipped once when those lines are read again.
/// </param>
/// <param name="Last">The last line read (at or after <paramref name="Offset"/>), checked at start and at each read.</param>
/// <remarks>
/// The cursor stays at the first command read but not settled (held for its <c>at_step</c>, or deferred while the
/// journal could not be written), with that command's line count and ack offset: a restart reads it again.
/// </remarks>
internal readonly record struct QueueCursor(long Offset, long Lines, long AcksOffset, LastLine Last)
{
    /// <summary>Gets the cursor of a file read from the top.</summary>
    public static QueueCursor Start => new(0, 0, 0, LastLine.None);
}
