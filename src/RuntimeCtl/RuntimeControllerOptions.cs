namespace RuntimeCtl;

/// <summary>
/// Settings of a <see cref="RuntimeController{TContext}"/>. Read once, when the controller is created; every
/// problem is reported together in one <see cref="ArgumentException"/>.
/// </summary>
public sealed class RuntimeControllerOptions
{
    /// <summary>Gets or sets the interval of <c>PollAndApply(context)</c> calls that give no interval of their own.</summary>
    /// <value>The default is 2 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets the most commands one poll applies, bounding one step's stall and the memory a poll holds (its
    /// acks); the rest are applied by the next calls, which are due at once (see <c>RuntimeController.HasBacklog</c>).
    /// </summary>
    /// <value>The default is 10,000; <see langword="null"/> applies a whole backlog in one poll, however long.</value>
    public int? MaxCommandsPerPoll { get; set; } = 10_000;

    /// <summary>Gets or sets the longest command line accepted; a longer one is rejected without being held in memory.</summary>
    /// <value>The default is 1 MiB; at least 1 KiB and at most <see cref="MaxLineBytesLimit"/>.</value>
    public int MaxLineBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets or sets whether a group-writable queue directory is accepted (for teams that share a job on purpose).
    /// A world-writable directory is always refused.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool AllowSharedQueue { get; set; }

    /// <summary>Gets or sets the clock: wall time for the <c>ts</c> fields, monotonic time for throttling.</summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets the ranks of the job.</summary>
    /// <value>The default is <see cref="ProcessGroup.SingleProcess"/>.</value>
    public IProcessGroup ProcessGroup { get; set; } = RuntimeCtl.ProcessGroup.SingleProcess;

    /// <summary>The largest <see cref="MaxLineBytes"/> (256 MiB): a batch holds one such line beside its other lines.</summary>
    public const int MaxLineBytesLimit = 256 * 1024 * 1024;

    /// <summary>
    /// Gets or sets the receiver of problems the controller survives (a full disk, a replaced file), e.g.
    /// <see cref="RuntimeDiagnostic.WriteToStandardError"/>. It is called on the thread that calls the controller
    /// (inside <c>Configure</c>, <c>PollAndApply</c> or <c>Dispose</c>), never on another thread: a problem found in
    /// the background (writing <c>controller.json</c>) is handed over at the next due poll.
    /// </summary>
    /// <value>The default is <see langword="null"/>: problems are not reported (the acks and <c>runtimectl status</c> still show their effects).</value>
    public Action<RuntimeDiagnostic>? OnDiagnostic { get; set; }

    /// <summary>
    /// Gets or sets whether to skip the start-up check that a launcher (mpirun, srun, torchrun) that started
    /// several ranks is matched by a <see cref="ProcessGroup"/> of that size.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool IgnoreLauncherEnvironment { get; set; }

    /// <summary>Gets or sets what the queue's records survive: a killed process (the default), or also a power loss.</summary>
    /// <value>The default is <see cref="RuntimeDurability.KillSafe"/>.</value>
    public RuntimeDurability Durability { get; set; } = RuntimeDurability.KillSafe;

    /// <summary>
    /// Gets or sets whether a queue directory on a network or FUSE file system (NFS, SMB/CIFS, FUSE, ...) is accepted
    /// without a warning. The queue's guarantees need local append atomicity and <c>flock</c>.
    /// </summary>
    /// <value>The default is <see langword="false"/>: such a directory is used, with one warning on <see cref="OnDiagnostic"/>.</value>
    public bool AllowNetworkFileSystem { get; set; }

    /// <summary>Hands <paramref name="diagnostic"/> to <see cref="OnDiagnostic"/>, if set.</summary>
    internal void Report(RuntimeDiagnostic diagnostic) => OnDiagnostic?.Invoke(diagnostic);

    /// <summary>
    /// Sets <see cref="ProcessGroup"/> to a group an integration created for its controllers (as <c>UseMpi()</c> does):
    /// each controller created from these options calls <paramref name="acquire"/> once and disposes what it returns
    /// in its own <c>Dispose</c>, so the group can be freed when the last controller is done with it. A group set later
    /// through <see cref="ProcessGroup"/> replaces it and stays the caller's (nothing is acquired for it).
    /// </summary>
    /// <param name="group">The group.</param>
    /// <param name="acquire">Takes a hold on the group for one controller.</param>
    /// <returns>These options.</returns>
    public RuntimeControllerOptions WithOwnedProcessGroup(IProcessGroup group, Func<IDisposable> acquire)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(acquire);
        ProcessGroup = group;
        OwnedProcessGroup = (group, acquire);
        return this;
    }

    private (IProcessGroup Group, Func<IDisposable> Hold)? OwnedProcessGroup { get; set; }

    /// <summary>In a controller's validated copy: its hold on <see cref="OwnedProcessGroup"/>, disposed with the controller.</summary>
    internal IDisposable? ProcessGroupHold { get; private set; }

    /// <summary>Checks the options and returns the copy one controller keeps, with its hold on an owned group.</summary>
    internal RuntimeControllerOptions Validated()
    {
        var problems = new List<string>();
        if (PollInterval < TimeSpan.Zero)
        {
            problems.Add($"PollInterval must be zero or positive, got {PollInterval}.");
        }

        if (MaxCommandsPerPoll is < 1)
        {
            problems.Add($"MaxCommandsPerPoll must be at least 1 (or null for no cap), got {MaxCommandsPerPoll}.");
        }

        if (MaxLineBytes is < 1024 or > MaxLineBytesLimit)
        {
            problems.Add($"MaxLineBytes must be from 1024 to {MaxLineBytesLimit} (256 MiB), got {MaxLineBytes}.");
        }

        if (TimeProvider is null)
        {
            problems.Add("TimeProvider must not be null; use TimeProvider.System.");
        }

        if (ProcessGroup is null)
        {
            problems.Add("ProcessGroup must not be null; use ProcessGroup.SingleProcess for one process.");
        }
        else if (ProcessGroup.Size < 1 || ProcessGroup.Rank < 0 || ProcessGroup.Rank >= ProcessGroup.Size)
        {
            problems.Add($"ProcessGroup reports rank {ProcessGroup.Rank} of {ProcessGroup.Size}; the rank must be in [0, size).");
        }

        if (!Enum.IsDefined(Durability))
        {
            problems.Add($"Durability must be KillSafe or PowerLossSafe, got {(int)Durability}.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid RuntimeControllerOptions: " + string.Join(" ", problems));
        }

        // A copy, so a change to the caller's object after the controller was created changes nothing; every
        // option (also one added later) is copied. The copy takes its own hold on a group UseMpi() created.
        var copy = (RuntimeControllerOptions)MemberwiseClone();
        copy.ProcessGroupHold = OwnedProcessGroup is { } owned && ReferenceEquals(owned.Group, ProcessGroup) ? owned.Hold() : null;
        return copy;
    }
}

/// <summary>What the trainer's records of the queue (the write-ahead journal and the acks) survive.</summary>
public enum RuntimeDurability
{
    /// <summary>
    /// Survives <c>kill -9</c> of the trainer at any point: no command is applied twice, every applied command gets
    /// its real ack. Records are written to the operating system without <c>fsync</c>, so a power loss or kernel
    /// crash may lose the last ones (and then a command may be applied again).
    /// </summary>
    KillSafe,

    /// <summary>
    /// Also survives a power loss: each write-ahead record is made durable (<c>fdatasync</c>) before its control
    /// runs, and each batch of acks before the next batch is read. Costs a disk flush per command.
    /// </summary>
    PowerLossSafe,
}
