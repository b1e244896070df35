namespace RuntimeCtl;

/// <summary>
/// The execute stage: runs a plan's dispatched commands, on this rank alone or on every rank at once, and hands each
/// slot with its outcome to the record stage in file order. Chosen once, when the queue is configured.
/// </summary>
internal abstract class CommandDispatch<TContext>
{
    protected CommandDispatch(Dictionary<string, Control<TContext>> controls) => Controls = controls;

    /// <summary>Gets the registered controls.</summary>
    protected Dictionary<string, Control<TContext>> Controls { get; }

    /// <summary>Creates the dispatch for <paramref name="group"/>: local for one rank, collective for several.</summary>
    public static CommandDispatch<TContext> Create(IProcessGroup group, Dictionary<string, Control<TContext>> controls, Func<bool, int> callsUntilNext) =>
        group.Size == 1 ? new LocalDispatch<TContext>(controls) : new CollectiveDispatch<TContext>(group, controls, callsUntilNext);

    /// <summary>Gets whether an empty plan is run too (the other ranks wait for a frame of every batch).</summary>
    public virtual bool RunsEmptyPlans => false;

    /// <summary>
    /// Runs one batch of rank 0's poll: <paramref name="engine"/> writes the write-ahead records and records the acks.
    /// A command whose record cannot be written is not run: the engine defers it and the rest of the plan.
    /// </summary>
    public abstract void Run(QueueEngine<TContext> engine, TContext context, List<Slot> plan, long? step);
}

/// <summary>
/// One rank: each command in turn is begun in the journal, run and recorded, so a trainer killed part-way knows
/// which commands ran (their acks), which one was running (effect unknown) and which never started (read again).
/// </summary>
internal sealed class LocalDispatch<TContext>(Dictionary<string, Control<TContext>> controls) : CommandDispatch<TContext>(controls)
{
    public override void Run(QueueEngine<TContext> engine, TContext context, List<Slot> plan, long? step)
    {
        for (var i = 0; i < plan.Count; i++)
        {
            var slot = plan[i];
            Outcome<TContext> outcome = default;
            if (slot.Refusal is null)
            {
                if (!engine.Begin(plan, i, step))
                {
                    return; // deferred from here on
                }

                outcome = CommandExecutor.Execute(Controls, context, slot.Line);
            }

            engine.Record(slot, step, outcome, ranks: 1, rankErrors: null);
        }
    }
}
