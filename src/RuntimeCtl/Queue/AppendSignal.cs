namespace RuntimeCtl;

/// <summary>
/// Lets an idle due poll skip the <c>fstat</c> of <c>commands.jsonl</c>: the kernel's file notifications (inotify,
/// through <see cref="FileSystemWatcher"/>) set a flag on the watcher's thread, and the poll reads the flag.
/// </summary>
/// <remarks>
/// The flag is only trusted in steady state: after <see cref="IdleAfterEmptyLooks"/> looks in a row found nothing new.
/// Until then (after start, after a command, while a line is half written or a backlog is read) every due poll looks.
/// A look is also made at least every <see cref="SafetyLookEveryMs"/> ms, so a notification that never comes (a
/// writer on another host of a shared file system, an overflowed event queue) delays a command by that much at most
/// and never loses it. The flag is cleared before the look, so a write during the look is seen by the next one.
/// </remarks>
internal sealed class AppendSignal : IDisposable
{
    /// <summary>Empty looks in a row after which the poll trusts the notifications.</summary>
    public const int IdleAfterEmptyLooks = 64;

    /// <summary>The longest a due poll goes without looking at the file itself.</summary>
    public const long SafetyLookEveryMs = 250;

    private FileSystemWatcher? _watcher;
    private volatile bool _notified = true;
    private int _emptyLooks;
    private long _lastLookMs;
    private bool _watchLost;

    /// <summary>Starts watching <paramref name="file"/>, or returns <see langword="null"/> where notifications are unavailable or cannot be trusted (a network file system).</summary>
    public static AppendSignal? TryStart(string directory, string file, bool localFileSystem)
    {
        if (!localFileSystem)
        {
            return null;
        }

        var signal = new AppendSignal();
        signal._watcher = QueueWatcher.TryWatch(directory, file, signal.Wake);
        return signal._watcher is null ? null : signal;
    }

    /// <summary>Whether this due poll must look at the file (and then the flag is cleared).</summary>
    public bool ShouldLook(long nowMs)
    {
        if (_watchLost || _emptyLooks < IdleAfterEmptyLooks || _notified || nowMs - _lastLookMs >= SafetyLookEveryMs)
        {
            _notified = false;
            _lastLookMs = nowMs;
            return true;
        }

        return false;
    }

    /// <summary>
    /// Counts a look: one that found new bytes ends the steady state. The watcher only runs in steady state: while
    /// commands flow, the trainer's own writes to the directory (acks, journal) would wake its thread for nothing.
    /// </summary>
    public void Looked(bool found)
    {
        if (found)
        {
            _emptyLooks = 0;
            Watch(false);
            return;
        }

        if (_emptyLooks < IdleAfterEmptyLooks && ++_emptyLooks == IdleAfterEmptyLooks)
        {
            Watch(true);
            _notified = true; // a write between the last look and the watch: one more look sees it
        }
    }

    private void Watch(bool on)
    {
        if (_watcher is { } watcher && watcher.EnableRaisingEvents != on)
        {
            try
            {
                watcher.EnableRaisingEvents = on;
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                _watcher = null;
                _watchLost = true; // no notifications any more: every due poll looks
                watcher.Dispose();
            }
        }
    }

    /// <summary>Marks the file changed (a notification, or the file at the path replaced).</summary>
    public void Wake() => _notified = true;

    public void Dispose() => _watcher?.Dispose();
}
