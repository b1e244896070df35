using System.Text;

namespace RuntimeCtl;

/// <summary>A command a sender queued.</summary>
/// <param name="Id">The command's id.</param>
/// <param name="Line">The line as written, without its newline.</param>
/// <param name="AlternateIds">
/// The ids the trainer would give the line if it took it for an invalid or over-long line (derived from its offset),
/// so a waiter still finds its ack.
/// </param>
internal sealed record SentCommand(string Id, string Line, IReadOnlyList<string> AlternateIds);

/// <summary>A sender's command that the trainer would reject as it is (or that it does not know); nothing was sent.</summary>
internal sealed class CommandRefusedException : RuntimeCtlException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What the trainer would reject, ending with "Nothing was sent."</param>
    public CommandRefusedException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// The checks every sender of the project makes before it queues a command (the CLI, the dashboard, the MCP server):
/// what the trainer would reject is refused before anything is written, and a path the live trainer has not
/// registered is refused with the closest names.
/// </summary>
internal static class CommandSubmission
{
    /// <summary>Checks one command as the trainer would, then appends it with the library's bytes and lock.</summary>
    /// <param name="queueDirectory">The queue directory.</param>
    /// <param name="path">The control's path.</param>
    /// <param name="args">The positional arguments.</param>
    /// <param name="kwargs">The keyword arguments.</param>
    /// <param name="atStep">The <c>at_step</c> extension, if any.</param>
    /// <param name="allowShared">Whether a group-writable queue directory is accepted.</param>
    /// <param name="time">The clock of the command's <c>ts</c>.</param>
    /// <param name="source">Who sent it (the <c>source</c> field every trainer ignores), or <see langword="null"/>.</param>
    /// <exception cref="QueueConfigurationException">The queue directory is unsafe or cannot be written.</exception>
    /// <exception cref="CommandRefusedException">The trainer would reject the line as it is (a number that overflows, a line over its limit).</exception>
    public static SentCommand Submit(string queueDirectory, string path, IReadOnlyList<object?> args, IReadOnlyList<KeyValuePair<string, object?>> kwargs, long? atStep, bool allowShared, TimeProvider time, string? source = null)
    {
        var id = Guid.NewGuid().ToString("D");
        KeyValuePair<string, string>[] extra = source is null ? [] : [new("source", source)];
        var line = CommandSender.Serialize(id, time.GetUtcNow(), path, args, kwargs, atStep, extra);
        var body = line.AsMemory(0, line.Length - 1);

        // The trainer's own checks, before anything is queued: what it would reject is refused here.
        using (var parsed = CommandLine.Parse(0, body))
        {
            if ((parsed.Invalid ?? parsed.Refusal) is { } problem)
            {
                throw new CommandRefusedException($"the trainer would reject this command ({problem}). Nothing was sent.");
            }
        }

        var limit = ControllerSnapshot.TryRead(new QueueDirectory(queueDirectory).Controller, out _)?.MaxLineBytes;
        if (limit is { } max && body.Length > max)
        {
            throw new CommandRefusedException($"the command is {body.Length} bytes long, over the trainer's limit of {max} bytes per line (RuntimeControllerOptions.MaxLineBytes). Nothing was sent.");
        }

        var offset = CommandSender.Append(queueDirectory, line, allowShared);
        var alternates = new[]
        {
            CommandLine.DerivedId(offset, body.Span),
            CommandLine.Oversize(offset, offset + line.Length, (int)Math.Min(limit ?? int.MaxValue, int.MaxValue)).Id,
        };
        return new SentCommand(id, Encoding.UTF8.GetString(body.Span), alternates);
    }

    /// <summary>Why a path the running trainer does not know is refused, or <see langword="null"/> to send it.</summary>
    /// <param name="controller">The trainer's <c>controller.json</c>, or <see langword="null"/> when there is none.</param>
    /// <param name="queueLabel">The queue as the user named it (a directory, or a dashboard's address).</param>
    /// <param name="path">The control's path.</param>
    /// <param name="now">The time, to tell whether <c>controller.json</c> is fresh.</param>
    /// <param name="forceHint">How the sender overrides the refusal, ending the message.</param>
    public static string? UnknownPathRefusal(ControllerSnapshot? controller, string queueLabel, string path, DateTimeOffset now, string forceHint)
    {
        // Only a live trainer's list is trusted: without one, send as the original does.
        if (controller is null || !controller.ListsControls || !controller.IsFresh(now) || controller.HasControl(path))
        {
            return null;
        }

        var paths = controller.Controls.Select(c => c.Path).ToArray();
        var message = new StringBuilder($"the trainer on '{queueLabel}' has no control '{path}'");
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
