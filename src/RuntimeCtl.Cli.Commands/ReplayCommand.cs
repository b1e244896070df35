using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl -q NEW replay --from OLD [--dry-run] [--append]</c>: queues into NEW every command applied in OLD, in
/// order, each as it was sent (path, args, kwargs) with <c>at_step</c> set to the step it was applied at and
/// <c>replay_of</c> naming the original id, so that a fresh run on NEW applies the same commands before the same steps.
/// </summary>
internal static class ReplayCommand
{
    public static int Run(ReplayRequest request, CliContext context)
    {
        if (!Directory.Exists(request.From))
        {
            context.Note(CliGrammar.NoQueueDirectory(request.From, "--from"));
            return ExitCodes.Usage;
        }

        var applied = new List<HistoryEntry>();
        var stepless = new List<HistoryEntry>();
        try
        {
            foreach (var entry in CommandHistory.Read(request.From))
            {
                if (entry.Status == "applied")
                {
                    applied.Add(entry); // applied commands only: a plan to reproduce is small however long the queue
                    if (entry.Step is null)
                    {
                        stepless.Add(entry);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Note($"cannot read '{request.From}': {e.Message}");
            return ExitCodes.Error;
        }

        if (stepless.Count > 0)
        {
            context.Note($"cannot replay '{request.From}': {stepless.Count} applied command{(stepless.Count == 1 ? " has" : "s have")} no step (the trainer polled by time, without a step), so there is no step to apply {(stepless.Count == 1 ? "it" : "them")} at again: "
                + string.Join("; ", stepless.Select(e => $"line {e.Line} {PathOf(e)} (id {e.Id})")) + ". Poll with a step (PollAndApply(context, step)) to make a run replayable. Nothing was queued.");
            return ExitCodes.Usage;
        }

        if (!request.Append && HasCommands(request.QueueDirectory))
        {
            context.Note($"'{request.QueueDirectory}' has commands already; replay into a new queue directory, or pass --append to add these after them. Nothing was queued.");
            return ExitCodes.Usage;
        }

        // Every command is checked before any is queued: a replay is queued whole or not at all.
        foreach (var entry in applied)
        {
            try
            {
                Enqueue(request, entry, dryRun: true, context.Time);
            }
            catch (CommandRefusedException e)
            {
                context.Note($"cannot replay line {entry.Line} of '{request.From}' (id {entry.Id}): {e.Message}");
                return ExitCodes.Usage;
            }
        }

        foreach (var entry in applied)
        {
            context.Stdout.WriteLine(Enqueue(request, entry, request.DryRun, context.Time).Line);
        }

        context.Note(string.Create(CultureInfo.InvariantCulture, $"{(request.DryRun ? "would queue" : "queued")} {applied.Count} command{(applied.Count == 1 ? string.Empty : "s")} applied in '{request.From}', each at the step it was applied at{(request.DryRun ? " (dry run: nothing written)" : string.Empty)}."));
        return ExitCodes.Success;
    }

    /// <summary>Queues <paramref name="entry"/> again as it was sent, at the step it was applied at, naming it in <c>replay_of</c>.</summary>
    private static SentCommand Enqueue(ReplayRequest request, HistoryEntry entry, bool dryRun, TimeProvider time) =>
        CommandSender.Enqueue(
            request.QueueDirectory,
            PathOf(entry),
            entry.Field("args") is { ValueKind: JsonValueKind.Array } args ? args.EnumerateArray().Select(a => (object?)a).ToArray() : [],
            entry.Field("kwargs") is { ValueKind: JsonValueKind.Object } kwargs ? kwargs.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, p.Value)).ToArray() : [],
            new EnqueueOptions { AtStep = entry.Step, AllowSharedQueue = request.AllowShared, ReplayOf = entry.Id, DryRun = dryRun, TimeProvider = time });

    private static string PathOf(HistoryEntry entry) => entry.Field("path") is { ValueKind: JsonValueKind.String } path ? path.GetString()! : string.Empty;

    private static bool HasCommands(string queueDirectory)
    {
        var commands = Path.Combine(queueDirectory, QueueFiles.Commands);
        return File.Exists(commands) && File.ReadLines(commands).Any(l => !string.IsNullOrWhiteSpace(l));
    }
}
