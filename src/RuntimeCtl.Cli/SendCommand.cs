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
        if (!request.Force && Refusal(request.QueueDirectory, request.Path, context.Time.GetUtcNow(), "use --force to send it anyway") is { } refusal)
        {
            context.Note(refusal);
            return ExitCodes.Usage;
        }

        // The ack comes after the command: whatever acks.jsonl holds now is older.
        var acksBefore = request.Wait ? AckFollower.LengthOf(queue.Acks) : 0;
        var (id, line) = Enqueue(request.QueueDirectory, request.Path, request.Args, request.Kwargs, request.AtStep, request.AllowShared, context.Time);
        context.Stdout.WriteLine(line);
        context.Stdout.Flush();
        if (!request.Wait)
        {
            return ExitCodes.Success;
        }

        return AckWaiter.Wait(queue, new AckFollower(queue.Acks, id, acksBefore), request.Timeout, context);
    }

    /// <summary>Appends one command with the library's bytes and lock (the write path of the CLI and the dashboard).</summary>
    /// <returns>The command's id and its line as written, without the newline.</returns>
    /// <exception cref="QueueConfigurationException">The queue directory is unsafe or cannot be written.</exception>
    public static (string Id, string Line) Enqueue(string queueDirectory, string path, IReadOnlyList<object?> args, IReadOnlyList<KeyValuePair<string, object?>> kwargs, long? atStep, bool allowShared, TimeProvider time)
    {
        var id = Guid.NewGuid().ToString("D");
        var line = CommandSender.Serialize(id, time.GetUtcNow(), path, args, kwargs, atStep);
        CommandSender.Append(queueDirectory, line, allowShared);
        return (id, Encoding.UTF8.GetString(line.AsSpan(0, line.Length - 1)));
    }

    /// <summary>Why a path the running trainer does not know is refused, or <see langword="null"/> to send it.</summary>
    /// <param name="queueDirectory">The queue directory, as given.</param>
    /// <param name="path">The control's path.</param>
    /// <param name="now">The time, to tell whether <c>controller.json</c> is fresh.</param>
    /// <param name="forceHint">How the sender overrides the refusal, ending the message.</param>
    public static string? Refusal(string queueDirectory, string path, DateTimeOffset now, string forceHint)
    {
        // Only a live trainer's list is trusted: without one, send as the original does.
        var controller = ControllerSnapshot.TryRead(new QueueDirectory(queueDirectory).Controller, out _);
        if (controller is null || !controller.ListsControls || !controller.IsFresh(now) || controller.HasControl(path))
        {
            return null;
        }

        var paths = controller.Controls.Select(c => c.Path).ToArray();
        var message = new StringBuilder($"the trainer on '{queueDirectory}' has no control '{path}'");
        var closest = PathSuggestions.Closest(path, paths);
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

        message.Append(" Nothing was sent; ").Append(forceHint).Append('.');
        return message.ToString();
    }
}
