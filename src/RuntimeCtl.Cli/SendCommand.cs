using System.Text;

namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl -q DIR PATH [ARG...]</c>: appends one command with the library's own bytes, lock and repair, prints
/// it, and with <c>--wait</c> waits for its ack.
/// </summary>
internal static class SendCommand
{
    public static int Run(SendRequest request, CliContext context)
    {
        var queue = new QueueDirectory(request.QueueDirectory);
        if (!request.Force && Refusal(request, queue, context.Time.GetUtcNow()) is { } refusal)
        {
            context.Note(refusal);
            return ExitCodes.Usage;
        }

        // The ack comes after the command: whatever acks.jsonl holds now is older.
        var acksBefore = request.Wait ? AckFollower.LengthOf(queue.Acks) : 0;
        var id = Guid.NewGuid().ToString("D");
        var line = CommandSender.Serialize(id, context.Time.GetUtcNow(), request.Path, request.Args, request.Kwargs, request.AtStep);
        CommandSender.Append(request.QueueDirectory, line, request.AllowShared);
        context.Stdout.WriteLine(Encoding.UTF8.GetString(line.AsSpan(0, line.Length - 1)));
        context.Stdout.Flush();
        if (!request.Wait)
        {
            return ExitCodes.Success;
        }

        return AckWaiter.Wait(queue, new AckFollower(queue.Acks, id, acksBefore), request.Timeout, context);
    }

    /// <summary>Why a path the running trainer does not know is refused, or <see langword="null"/> to send it.</summary>
    private static string? Refusal(SendRequest request, QueueDirectory queue, DateTimeOffset now)
    {
        // Only a live trainer's list is trusted: without one, send as the original does.
        var controller = ControllerSnapshot.TryRead(queue.Controller, out _);
        if (controller is null || !controller.ListsControls || !controller.IsFresh(now) || controller.HasControl(request.Path))
        {
            return null;
        }

        var paths = controller.Controls.Select(c => c.Path).ToArray();
        var message = new StringBuilder($"the trainer on '{request.QueueDirectory}' has no control '{request.Path}'");
        var closest = PathSuggestions.Closest(request.Path, paths);
        if (closest.Count > 0)
        {
            message.Append(". Did you mean ").Append(string.Join(" or ", closest.Select(p => $"'{p}'"))).Append('?');
        }
        else if (paths.Length == 0)
        {
            message.Append("; it has no controls registered.");
        }
        else
        {
            message.Append(". Its controls: ").Append(string.Join(", ", paths.Take(12))).Append(paths.Length > 12 ? ", ..." : string.Empty).Append('.');
        }

        message.Append(" Nothing was sent; use --force to send it anyway.");
        return message.ToString();
    }
}
