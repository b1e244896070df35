namespace RuntimeCtl.Cli;

/// <summary>
/// Waits for one command's ack without spinning: woken by inotify (<see cref="FileSystemWatcher"/>) when
/// <c>acks.jsonl</c> changes, with a slow poll as a fallback for file systems that send no events (NFS).
/// </summary>
internal static class AckWaiter
{
    /// <summary>How often to look when no event came: a fallback, so slow.</summary>
    public static readonly TimeSpan FallbackPoll = TimeSpan.FromMilliseconds(400);

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
                context.Stdout.WriteLine(ack.Line);
                context.Stdout.Flush();
                return ack.Status switch
                {
                    "applied" => ExitCodes.Success,
                    "rejected" => ExitCodes.Rejected,
                    "failed" => ExitCodes.Failed,
                    _ => Unknown(ack, context),
                };
            }

            var remaining = timeout - context.Time.GetElapsedTime(started);
            if (context.CancellationToken.IsCancellationRequested)
            {
                context.Note("interrupted before the ack came; the command stays queued and the trainer will still apply it.");
                return ExitCodes.Interrupted;
            }

            if (remaining <= TimeSpan.Zero)
            {
                context.Note(TimeoutMessage(queue, timeout, context.Time.GetUtcNow()));
                return ExitCodes.Timeout;
            }

            WaitHandle.WaitAny(handles, remaining < FallbackPoll ? remaining : FallbackPoll);
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

    private static int Unknown(FoundAck ack, CliContext context)
    {
        context.Note($"the ack has an unknown status '{ack.Status ?? "null"}'.");
        return ExitCodes.Error;
    }

    private static string TimeoutMessage(QueueDirectory queue, TimeSpan timeout, DateTimeOffset now)
    {
        var waited = JsonOutput.Duration(timeout.TotalSeconds);
        var controller = ControllerSnapshot.TryRead(queue.Controller, out _);
        var trainer = controller is null
            ? "There is no controller.json, so whether a trainer polls this queue is unknown."
            : controller.IsFresh(now)
                ? "The trainer is polling; the command may be held by --at-step or behind a long batch."
                : $"The trainer is not polling ({JsonOutput.DescribeTrainer(controller, now)}).";
        return $"no ack within {waited}. The command stays queued: a trainer applies it when it next polls. {trainer}";
    }
}
