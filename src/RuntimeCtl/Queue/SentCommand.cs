namespace RuntimeCtl;

/// <summary>A command a sender queued (<see cref="CommandSender.Enqueue(string, string, IEnumerable{object?}?, IEnumerable{KeyValuePair{string, object?}}?, EnqueueOptions)"/>), and where its ack will be.</summary>
/// <param name="Id">The command's id.</param>
/// <param name="Line">The line as written, without its newline.</param>
/// <param name="AckOffset">The length <c>acks.jsonl</c> had before the command was queued: its ack comes after it (see <see cref="AckFollower"/>).</param>
/// <param name="AlternateIds">
/// The ids the trainer would give the line if it took it for an invalid or over-long line (derived from its offset),
/// so a waiter still finds its ack; empty for a dry run (<see cref="EnqueueOptions.DryRun"/>), which wrote nothing.
/// </param>
public sealed record SentCommand(string Id, string Line, long AckOffset, IReadOnlyList<string> AlternateIds);
