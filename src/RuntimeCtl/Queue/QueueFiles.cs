namespace RuntimeCtl;

/// <summary>
/// The files of a queue directory by name (docs/queue-format.md, "Files of a queue directory"), and what a reader of
/// them should tell its user about the directory first.
/// </summary>
public static class QueueFiles
{
    /// <summary>The commands senders append, one JSON object a line.</summary>
    public const string Commands = "commands.jsonl";

    /// <summary>The trainer's acks, one a command, in file order.</summary>
    public const string Acks = "acks.jsonl";

    /// <summary>The running trainer: liveness, controls, line counts (an extension).</summary>
    public const string Controller = "controller.json";

    /// <summary>The scalars the trainer reports (an extension; <c>metrics.1.jsonl</c> after a rotation).</summary>
    public const string Metrics = "metrics.jsonl";

    /// <summary>Why the files of <paramref name="queueDirectory"/> are not to be trusted (it belongs to another user), or <see langword="null"/>.</summary>
    /// <param name="queueDirectory">The queue directory.</param>
    public static string? ForeignOwnerWarning(string queueDirectory) => QueueDirectory.ForeignOwnerWarning(queueDirectory);

    /// <summary>
    /// Why the queue's guarantees do not hold on the file system of <paramref name="queueDirectory"/> (a network or FUSE
    /// one), and how the user silences the warning; <see langword="null"/> on a local disk (or where that is unknown).
    /// </summary>
    /// <param name="queueDirectory">The queue directory.</param>
    /// <param name="silence">How the caller's user says the file system is safe, starting the last sentence (<c>Pass --allow-network-fs</c>).</param>
    public static string? NetworkFileSystemWarning(string queueDirectory, string silence) =>
        FileSystemKind.RemoteName(queueDirectory) is { } fileSystem ? FileSystemKind.Warning(Path.GetFullPath(queueDirectory), fileSystem, silence) : null;
}
