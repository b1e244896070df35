using RuntimeCtl.Cli.Remote;

namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl -q DIR PATH [ARG...]</c>: appends one command with the library's own bytes, lock and repair, prints
/// it, and with <c>--wait</c> waits for its ack. With <c>--url</c> the same through the job's dashboard: the unknown-path
/// check against the served control list, the append by the server, the wait by long polls of <c>GET /api/ack</c>.
/// </summary>
internal static class SendCommand
{
    private const string ForceHint = "use --force to send it anyway";

    public static int Run(SendRequest request, CliContext context)
    {
        if (request.Remote is { } remote)
        {
            return RunRemote(request, remote, context);
        }

        var controllerPath = Path.Combine(request.QueueDirectory, QueueFiles.Controller);
        var controller = ControllerSnapshot.TryRead(controllerPath, out _);
        if (!request.Force && controller?.UnknownPathRefusal(request.Path, request.QueueDirectory, context.Time.GetUtcNow(), ForceHint) is { } refusal)
        {
            context.Note(refusal);
            return ExitCodes.Usage;
        }

        SentCommand sent;
        try
        {
            sent = CommandSender.Enqueue(request.QueueDirectory, request.Path, request.Args, request.Kwargs, new EnqueueOptions { AtStep = request.AtStep, AllowSharedQueue = request.AllowShared, TimeProvider = context.Time });
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

        return AckWaiter.Wait(new AckFollower(Path.Combine(request.QueueDirectory, QueueFiles.Acks), sent.Id, sent.AckOffset, sent.AlternateIds), controllerPath, request.Timeout, context);
    }

    private static int RunRemote(SendRequest request, RemoteEndpoint endpoint, CliContext context)
    {
        using var remote = context.Connect(endpoint);
        var before = remote.ReadStatus(0);
        if (!request.Force && before.Status.Controller?.UnknownPathRefusal(request.Path, endpoint.Label, before.Now, ForceHint) is { } refusal)
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
