namespace RuntimeCtl.TorchSharp;

/// <summary>
/// Settings of the standard TorchSharp controls registered by
/// <see cref="TorchSharpControllerExtensions.AddTorchSharpControls{TContext}(RuntimeController{TContext}, TorchSharpLoop, TorchSharpControlsOptions?)"/>.
/// Read once, at registration; every problem is reported together in one <see cref="ArgumentException"/>.
/// </summary>
public sealed class TorchSharpControlsOptions
{
    /// <summary>
    /// Gets or sets the directory under which <c>save_ckpt</c> and <c>train.stop</c> write checkpoints
    /// (<c>&lt;root&gt;/&lt;label or step-N&gt;/</c>) and in which <c>load_ckpt</c> looks up a <c>label</c>.
    /// A relative path is resolved against the working directory at registration.
    /// </summary>
    /// <value>The default is <see langword="null"/>: <c>&lt;queue directory&gt;/checkpoints</c>, created (0700) at the first save.</value>
    public string? CheckpointRoot { get; set; }

    /// <summary>
    /// Gets or sets the directories besides the checkpoint root from which <c>load_ckpt</c> may load a checkpoint given
    /// by absolute <c>path</c>. Whoever can send commands can otherwise only load what this job saved.
    /// </summary>
    /// <value>The default is empty: loads only from the checkpoint root.</value>
    public IList<string> AllowedLoadRoots { get; set; } = [];

    /// <summary>
    /// Gets or sets how often <see cref="TorchSharpLoop.WaitWhilePaused{TContext}"/> polls the queue while the loop is paused,
    /// which bounds how long a <c>train.resume</c> or <c>train.stop</c> waits to be applied. The waits are timed by the
    /// controller's clock (<see cref="RuntimeControllerOptions.TimeProvider"/>).
    /// </summary>
    /// <value>The default is 100 milliseconds.</value>
    public TimeSpan PausePollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    internal TorchSharpControlsOptions Validated()
    {
        var problems = new List<string>();
        string? root = null;
        if (CheckpointRoot is not null)
        {
            if (string.IsNullOrWhiteSpace(CheckpointRoot))
            {
                problems.Add("CheckpointRoot must be a directory path or null (for <queue directory>/checkpoints), got an empty string.");
            }
            else
            {
                root = Path.GetFullPath(CheckpointRoot);
            }
        }

        if (PausePollInterval <= TimeSpan.Zero || PausePollInterval > TimeSpan.FromMinutes(1))
        {
            problems.Add($"PausePollInterval must be above zero and at most one minute, got {PausePollInterval}.");
        }

        var allowed = new List<string>();
        foreach (var extra in AllowedLoadRoots ?? [])
        {
            if (string.IsNullOrWhiteSpace(extra) || !Path.IsPathFullyQualified(extra))
            {
                problems.Add($"AllowedLoadRoots must hold absolute directories, got '{extra}'.");
            }
            else
            {
                allowed.Add(Path.GetFullPath(extra));
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid TorchSharpControlsOptions: " + string.Join(" ", problems));
        }

        return new TorchSharpControlsOptions
        {
            CheckpointRoot = root,
            AllowedLoadRoots = allowed,
            PausePollInterval = PausePollInterval,
        };
    }
}
