namespace RuntimeCtl;

/// <summary>File notifications on a queue directory, or none where the file system sends none (the callers also poll).</summary>
public static class QueueWatcher
{
    /// <summary>How often a wait looks when no file event came: a fallback (NFS sends none), so slow.</summary>
    public static readonly TimeSpan FallbackPoll = TimeSpan.FromMilliseconds(400);

    /// <summary>Calls <paramref name="changed"/> when a file matching <paramref name="filter"/> in <paramref name="directory"/> changes; <see langword="null"/> when notifications are unavailable.</summary>
    public static FileSystemWatcher? TryWatch(string directory, string filter, Action changed)
    {
        try
        {
            var watcher = new FileSystemWatcher(directory, filter)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            watcher.Changed += (_, _) => changed();
            watcher.Created += (_, _) => changed();
            watcher.Renamed += (_, _) => changed();
            watcher.Error += (_, _) => changed();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
