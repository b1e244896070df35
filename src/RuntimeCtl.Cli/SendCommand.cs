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
        var (id, line, alternateIds) = Enqueue(request.QueueDirectory, request.Path, request.Args, request.Kwargs, request.AtStep, request.AllowShared, context.Time);
        context.Stdout.WriteLine(line);
        context.Stdout.Flush();
        if (!request.Wait)
        {
            return ExitCodes.Success;
        }

        return AckWaiter.Wait(queue, new AckFollower(queue.Acks, id, acksBefore, alternateIds), request.Timeout, context);
    }

    /// <summary>Appends one command with the library's bytes and lock (the write path of the CLI and the dashboard).</summary>
    /// <returns>
    /// The command's id, its line as written (without the newline), and the ids the trainer would give the line if it
    /// took it for an invalid or over-long line (derived from its offset), so a waiter still finds its ack.
    /// </returns>
    /// <exception cref="QueueConfigurationException">The queue directory is unsafe or cannot be written.</exception>
    /// <exception cref="UsageException">The trainer would reject the line as it is (a number that overflows, a line over its limit); nothing is sent.</exception>
    public static (string Id, string Line, string[] AlternateIds) Enqueue(string queueDirectory, string path, IReadOnlyList<object?> args, IReadOnlyList<KeyValuePair<string, object?>> kwargs, long? atStep, bool allowShared, TimeProvider time)
    {
        var id = Guid.NewGuid().ToString("D");
        var line = CommandSender.Serialize(id, time.GetUtcNow(), path, args, kwargs, atStep);
        var body = line.AsMemory(0, line.Length - 1);

        // The trainer's own checks, before anything is queued: what it would reject is refused here.
        using (var parsed = CommandLine.Parse(0, body))
        {
            if ((parsed.Invalid ?? parsed.Refusal) is { } problem)
            {
                throw new UsageException($"the trainer would reject this command ({problem}). Nothing was sent.");
            }
        }

        var limit = ControllerSnapshot.TryRead(new QueueDirectory(queueDirectory).Controller, out _)?.MaxLineBytes;
        if (limit is { } max && body.Length > max)
        {
            throw new UsageException($"the command is {body.Length} bytes long, over the trainer's limit of {max} bytes per line (RuntimeControllerOptions.MaxLineBytes). Nothing was sent.");
        }

        var offset = CommandSender.Append(queueDirectory, line, allowShared);
        var alternates = new[]
        {
            CommandLine.DerivedId(offset, body.Span),
            CommandLine.Oversize(offset, offset + line.Length, (int)Math.Min(limit ?? int.MaxValue, int.MaxValue)).Id,
        };
        return (id, Encoding.UTF8.GetString(body.Span), alternates);
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
