namespace RuntimeCtl.Cli;

/// <summary><c>--wait</c>: waits for one command's ack (<see cref="AckFollower.WaitAsync"/>), prints it and exits by its status.</summary>
internal static class AckWaiter
{
    /// <summary>Waits up to <paramref name="timeout"/> for the ack <paramref name="follower"/> looks for, and returns the exit code.</summary>
    /// <param name="follower">The follower of the command's ack.</param>
    /// <param name="controllerPath">The trainer's <c>controller.json</c>, read to say after a timeout whether it polls.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="context">The output, the clock and Ctrl-C.</param>
    public static int Wait(AckFollower follower, string controllerPath, TimeSpan timeout, CliContext context)
    {
        // The CLI is synchronous; the wait is the library's one (inotify, with a slow poll where no events come).
        var ack = follower.WaitAsync(timeout, context.Time, context.CancellationToken).GetAwaiter().GetResult();
        if (ack is not null)
        {
            return Report(ack, context);
        }

        if (context.CancellationToken.IsCancellationRequested)
        {
            context.Note("interrupted before the ack came; the command stays queued and the trainer will still apply it.");
            return ExitCodes.Interrupted;
        }

        context.Note(TimeoutMessage(ControllerSnapshot.TryRead(controllerPath, out _), timeout, context.Time.GetUtcNow()));
        return ExitCodes.Timeout;
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
