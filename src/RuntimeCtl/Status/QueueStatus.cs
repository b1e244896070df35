namespace RuntimeCtl;

/// <summary>
/// What <c>runtimectl status</c> shows, read at one moment: the line counts of both queue files, the last acks and
/// the trainer's <c>controller.json</c>. Reads only what it needs: the counts start from the trainer's figures when
/// they agree with the files, and the acks come from the end of <c>acks.jsonl</c>.
/// </summary>
public sealed class QueueStatus
{
    private QueueStatus(LineCount commands, LineCount acks, AckTail tail, ControllerSnapshot? controller, string? controllerProblem)
    {
        Commands = commands;
        Acks = acks;
        Tail = tail;
        Controller = controller;
        ControllerProblem = controllerProblem;
    }

    /// <summary>A status read elsewhere (a dashboard's reply), from its parts.</summary>
    public static QueueStatus FromParts(LineCount commands, LineCount acks, AckTail tail, ControllerSnapshot? controller, string? controllerProblem) =>
        new(commands, acks, tail, controller, controllerProblem);

    /// <summary>Gets the lines of <c>commands.jsonl</c>.</summary>
    public LineCount Commands { get; }

    /// <summary>Gets the lines of <c>acks.jsonl</c>.</summary>
    public LineCount Acks { get; }

    /// <summary>Gets the last acks.</summary>
    public AckTail Tail { get; }

    /// <summary>Gets <c>controller.json</c>, or <see langword="null"/> when it is missing or unreadable.</summary>
    public ControllerSnapshot? Controller { get; }

    /// <summary>Gets why <c>controller.json</c> exists but could not be used, or <see langword="null"/>.</summary>
    public string? ControllerProblem { get; }

    /// <summary>Gets the number of command lines without an ack yet (lines sent minus acks written, never negative).</summary>
    public long Pending => Math.Max(0, Commands.Lines - Acks.Lines);

    /// <summary>Reads the status of <paramref name="queueDirectory"/>; missing files read as empty.</summary>
    /// <param name="queueDirectory">The queue directory.</param>
    /// <param name="lastAcks">How many of the last acks to read.</param>
    /// <param name="useControllerCounts">Whether to start the counts from <c>controller.json</c>'s figures (when they agree with the files).</param>
    public static QueueStatus Read(string queueDirectory, int lastAcks, bool useControllerCounts = true)
    {
        var queue = new QueueDirectory(queueDirectory);

        // controller.json first: its figures are then never newer than the files counted after it.
        var controller = ControllerSnapshot.TryRead(queue.Controller, out var problem);
        var hints = useControllerCounts ? controller : null;
        var commands = LineCounter.Count(queue.Commands, hints?.CommandsLines, hints?.CommandsBytes);
        var acks = LineCounter.Count(queue.Acks, hints?.AcksLines, hints?.AcksBytes);
        var tail = AckTail.Read(queue.Acks, lastAcks, upTo: acks.Length);
        return new QueueStatus(commands, acks, tail, controller, problem);
    }
}
