namespace RuntimeCtl;

/// <summary>How <see cref="CommandSender.Enqueue(string, string, IEnumerable{object?}?, IEnumerable{KeyValuePair{string, object?}}?, EnqueueOptions)"/> sends a command.</summary>
public sealed class EnqueueOptions
{
    /// <summary>Gets the step to hold the command until: the trainer applies it at its first poll at or after it (the <c>at_step</c> extension).</summary>
    /// <value>The default is <see langword="null"/>: applied at the next poll.</value>
    public long? AtStep { get; init; }

    /// <summary>Gets whether a group-writable queue directory is accepted.</summary>
    /// <value>The default is <see langword="false"/>: such a directory is refused, since others could drive the job.</value>
    public bool AllowSharedQueue { get; init; }

    /// <summary>Gets who sends the command, written as its <c>source</c> field (which every trainer ignores; <c>runtimectl history</c> shows it).</summary>
    /// <value>The default is <see langword="null"/>: no <c>source</c> field.</value>
    public string? Source { get; init; }

    /// <summary>Gets the id of the command this one replays, written as its <c>replay_of</c> field (which every trainer ignores).</summary>
    /// <value>The default is <see langword="null"/>: no <c>replay_of</c> field.</value>
    public string? ReplayOf { get; init; }

    /// <summary>Gets whether to check the command and build its line without writing anything.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool DryRun { get; init; }

    /// <summary>Gets the clock of the command's <c>ts</c>.</summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
