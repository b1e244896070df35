namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl status --follow</c>: prints the last N ack lines as written, then each new one as the trainer writes
/// it, woken by file notifications (with a slow poll as a fallback), until Ctrl-C.
/// </summary>
internal static class FollowCommand
{
    public static int Run(StatusRequest request, CliContext context)
    {
        if (!Directory.Exists(request.QueueDirectory))
        {
            context.Note($"there is no queue directory '{request.QueueDirectory}'. Check -q/{CliGrammar.QueueVariable}; the trainer creates it when it starts (or the first command sent does).");
            return ExitCodes.Error;
        }

        var queue = new QueueDirectory(request.QueueDirectory);
        using var changed = new AutoResetEvent(false);
        using var watcher = QueueWatcher.TryWatch(queue.Path, QueueDirectory.AcksFile, () => changed.Set());

        // The follower starts at the current end before the tail is read: a line written in between is printed
        // twice at worst, never lost.
        var follower = LineFollower.FromEnd(queue.Acks);
        if (request.Last > 0)
        {
            var tail = AckTail.Read(queue.Acks, request.Last, upTo: follower.Offset);
            foreach (var ack in tail.Acks)
            {
                context.Stdout.WriteLine(JsonOutput.ToText(ack));
            }
        }

        context.Stdout.Flush();
        var handles = new[] { changed, context.CancellationToken.WaitHandle };
        while (!context.CancellationToken.IsCancellationRequested)
        {
            foreach (var line in follower.ReadNew())
            {
                context.Stdout.WriteLine(line);
            }

            context.Stdout.Flush();
            WaitHandle.WaitAny(handles, AckWaiter.FallbackPoll);
        }

        return ExitCodes.Success;
    }
}

/// <summary>File notifications on a queue directory, or none where the file system sends none (the callers also poll).</summary>
internal static class QueueWatcher
{
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
