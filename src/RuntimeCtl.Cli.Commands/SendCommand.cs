using RuntimeCtl.Cli.Remote;

namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl -q DIR PATH [ARG...]</c>: appends one command with the library's own bytes, lock and repair, prints
/// it, and with <c>--wait</c> waits for its ack. With <c>--url</c> the same through the job's dashboard: the unknown-path
/// check against the served control list, the append by the server, the wait by long polls of <c>GET /api/ack</c>.
/// </summary>
internal static class SendCommand
{
    public static int Run(SendRequest request, CliContext context)
    {
        if (request.Remote is { } remote)
        {
            return RunRemote(request, remote, context);
        }

        var queue = new QueueDirectory(request.QueueDirectory);
        var controller = ControllerSnapshot.TryRead(queue.Controller, out _);
        if (!request.Force && CommandSubmission.UnknownPathRefusal(controller, request.QueueDirectory, request.Path, context.Time.GetUtcNow(), "use --force to send it anyway") is { } refusal)
        {
            context.Note(refusal);
            return ExitCodes.Usage;
        }

        // The ack comes after the command: whatever acks.jsonl holds now is older.
        var acksBefore = request.Wait ? LineFollower.LengthOf(queue.Acks) : 0;
        SentCommand sent;
        try
        {
            sent = CommandSubmission.Submit(request.QueueDirectory, request.Path, request.Args, request.Kwargs, request.AtStep, request.AllowShared, context.Time);
        }
        catch (CommandRefusedException e)
        {
            context.Note(e.Message);
            return ExitCodes.Usage;
        }

        context.Stdout.WriteLine(sent.Line);
        context.Stdout.Flush();
        if (!request.Wait)
        {
            return ExitCodes.Success;
        }

        return AckWaiter.Wait(new AckFollower(queue.Acks, sent.Id, acksBefore, sent.AlternateIds), queue.Controller, request.Timeout, context);
    }

    private static int RunRemote(SendRequest request, RemoteEndpoint endpoint, CliContext context)
    {
        using var remote = context.Connect(endpoint);
        var before = remote.ReadStatus(0);
        if (!request.Force && CommandSubmission.UnknownPathRefusal(before.Status.Controller, endpoint.Label, request.Path, before.Now, "use --force to send it anyway") is { } refusal)
        {
            context.Note(refusal);
            return ExitCodes.Usage;
        }

        var command = remote.Post(request.Path, request.Args, request.Kwargs, request.AtStep);
        context.Stdout.WriteLine(command.Line);
        context.Stdout.Flush();
        if (!request.Wait)
        {
            return ExitCodes.Success;
        }

        var started = context.Time.GetTimestamp();
        while (true)
        {
            var remaining = request.Timeout - context.Time.GetElapsedTime(started);
            FoundAck? ack;
            try
            {
                ack = remote.WaitForAck(command, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                context.Note("interrupted before the ack came; the command stays queued and the trainer will still apply it.");
                return ExitCodes.Interrupted;
            }

            if (ack is not null)
            {
                return AckWaiter.Report(ack, context);
            }

            if (request.Timeout - context.Time.GetElapsedTime(started) <= TimeSpan.Zero)
            {
                var after = remote.ReadStatus(0);
                context.Note(AckWaiter.TimeoutMessage(after.Status.Controller, request.Timeout, after.Now));
                return ExitCodes.Timeout;
            }
        }
    }
}
