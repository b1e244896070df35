namespace RuntimeCtl;

/// <summary>
/// Settles the last batch of a trainer that stopped before all its acks were written (<see cref="WriteAheadJournal"/>):
/// a command that finished gets its real ack, one whose control is safe to repeat is read and run again, and one that
/// was running gets a failed ack saying its effect is unknown.
/// </summary>
internal static class JournalRecovery
{
    /// <summary>Buffers the acks of the journal's unacked entries and counts their ids as acked and skippable once.</summary>
    /// <returns>The diagnostic to report, or null when the last trainer left nothing unacked.</returns>
    public static RuntimeDiagnostic? Recover(WriteAheadJournal journal, QueueState state, AckWriter acks, DateTimeOffset now, string queuePath)
    {
        List<string> rewritten = [], unknown = [], repeated = [];
        foreach (var entry in journal.Recover())
        {
            if (state.IsAcked(entry.Id))
            {
                continue;
            }

            if (entry.Outcome is { } ack)
            {
                acks.AppendLine(entry.Id, ack); // applied, but its ack was lost: the real ack
                rewritten.Add(entry.Id);
            }
            else if (entry.SafeToRepeat)
            {
                repeated.Add(entry.Id); // not acked, so read again and applied again, as its control allows
                continue;
            }
            else
            {
                acks.WriteEffectUnknown(entry, now);
                unknown.Add(entry.Id);
            }

            state.AddRecovered(entry.Id);
        }

        return rewritten.Count + unknown.Count + repeated.Count == 0
            ? null
            : new RuntimeDiagnostic("journal-recovered", $"The last trainer on '{queuePath}' stopped before writing every ack. Acks written from {WriteAheadJournal.FileName}: {Ids(rewritten)}; stopped while applying (acked failed, effect unknown): {Ids(unknown)}; safe to repeat (applied again): {Ids(repeated)}.");

        static string Ids(List<string> ids) => ids.Count == 0 ? "none" : string.Join(", ", ids);
    }
}
