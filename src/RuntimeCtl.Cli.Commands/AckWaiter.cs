namespace RuntimeCtl.Cli;

/// <summary>
/// Waits for one command's ack without spinning: woken by inotify (<see cref="FileSystemWatcher"/>) when
/// <c>acks.jsonl</c> changes, with a slow poll as a fallback for file systems that send no events (NFS).
/// </summary>
internal static class AckWaiter
{
    public static int Wait(QueueDirectory queue, AckFollower follower, TimeSpan timeout, CliContext context)
    {
        using var changed = new AutoResetEvent(false);
        using var watcher = TryWatch(queue, changed);
        var started = context.Time.GetTimestamp();
        var handles = new[] { changed, context.CancellationToken.WaitHandle };
        while (true)
        {
            // Looked at after the watcher started: an ack written before it is found here, one after it wakes us.
            if (follower.Poll() is { } ack)
            {
                return Report(ack, context);
            }

            var remaining = timeout - context.Time.GetElapsedTime(started);
            if (context.CancellationToken.IsCancellationRequested)
            {
                context.Note("interrupted before the ack came; the command stays queued and the trainer will still apply it.");
                return ExitCodes.Interrupted;
            }

            if (remaining <= TimeSpan.Zero)
            {
                context.Note(TimeoutMessage(ControllerSnapshot.TryRead(queue.Controller, out _), timeout, context.Time.GetUtcNow()));
                return ExitCodes.Timeout;
            }

            WaitHandle.WaitAny(handles, remaining < AckFollower.FallbackPoll ? remaining : AckFollower.FallbackPoll);
        }
    }

    private static FileSystemWatcher? TryWatch(QueueDirectory queue, AutoResetEvent changed)
    {
        try
        {
            var watcher = new FileSystemWatcher(queue.Path, QueueDirectory.AcksFile)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            FileSystemEventHandler wake = (_, _) => changed.Set();
            watcher.Changed += wake;
            watcher.Created += wake;
            watcher.Renamed += (_, _) => changed.Set();
            watcher.Error += (_, _) => changed.Set();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            // Out of inotify instances, or no events here: the fallback poll still finds the ack.
            return null;
        }
    }

    /// <summary>Prints the ack found as the second line and returns the exit code its status stands for.</summary>
    public static int Report(FoundAck ack, CliContext context)
    {
        context.Stdout.WriteLine(ack.Line);
        context.Stdout.Flush();
        switch (ack.Status)
        {
            case "applied":
                return ExitCodes.Success;
            case "rejected":
                return ExitCodes.Rejected;
            case "failed":
                return ExitCodes.Failed;
            default:
                context.Note($"the ack has an unknown status '{ack.Status ?? "null"}'.");
                return ExitCodes.Error;
        }
    }

    /// <summary>What a <c>--wait</c> that timed out says: the command stays queued, and whether a trainer polls.</summary>
    /// <param name="controller">The trainer's <c>controller.json</c>, or <see langword="null"/>.</param>
    /// <param name="timeout">How long it waited.</param>
    /// <param name="now">The time by which the trainer's liveness is judged.</param>
    public static string TimeoutMessage(ControllerSnapshot? controller, TimeSpan timeout, DateTimeOffset now)
    {
        var waited = TrainerReport.Duration(timeout.TotalSeconds);
        var trainer = controller is null
            ? "There is no controller.json, so whether a trainer polls this queue is unknown."
            : controller.IsFresh(now)
                ? "The trainer is polling; the command may be held by --at-step or behind a long batch."
                : $"The trainer is not polling ({TrainerReport.Describe(controller, now)}).";
        return $"no ack within {waited}. The command stays queued: a trainer applies it when it next polls. {trainer}";
    }
}
