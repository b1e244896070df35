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
            context.Note(CliGrammar.NoQueueDirectory(request.QueueDirectory));
            return ExitCodes.Error;
        }

        var acks = Path.Combine(request.QueueDirectory, QueueFiles.Acks);
        using var changed = new AutoResetEvent(false);
        using var watcher = QueueWatcher.TryWatch(Path.GetFullPath(request.QueueDirectory), QueueFiles.Acks, () => changed.Set());

        // The follower starts at the current end before the tail is read: a line written in between is printed
        // twice at worst, never lost.
        var follower = LineFollower.FromEnd(acks);
        if (request.Last > 0)
        {
            var tail = AckTail.Read(acks, request.Last, upTo: follower.Offset);
            foreach (var ack in tail.Acks)
            {
                context.Stdout.WriteLine(JsonOutput.ToText(ack));
            }
        }

        context.Stdout.Flush();
        var handles = new[] { changed, context.CancellationToken.WaitHandle };
        while (!context.CancellationToken.IsCancellationRequested)
        {
            foreach (var line in follower.ReadAppended())
            {
                context.Stdout.WriteLine(line);
            }

            context.Stdout.Flush();
            WaitHandle.WaitAny(handles, QueueWatcher.FallbackPoll);
        }

        return ExitCodes.Success;
    }
}
