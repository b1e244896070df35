namespace RuntimeCtl.TorchSharp;

/// <summary>The keyword arguments of <c>save_ckpt</c>.</summary>
internal sealed class SaveCheckpointArguments
{
    /// <summary>Gets or sets the checkpoint's directory name under the checkpoint root; <c>step-N</c> when absent.</summary>
    public string? Label { get; set; }
}

/// <summary>The keyword arguments of <c>load_ckpt</c>: exactly one of them.</summary>
internal sealed class LoadCheckpointArguments
{
    /// <summary>Gets or sets the name of a checkpoint under the checkpoint root.</summary>
    public string? Label { get; set; }

    /// <summary>Gets or sets the absolute path of a checkpoint directory.</summary>
    public string? Path { get; set; }
}

/// <summary>The keyword arguments of <c>train.stop</c>.</summary>
internal sealed class StopArguments
{
    /// <summary>Gets or sets whether to save a checkpoint before stopping.</summary>
    public bool Save { get; set; }

    /// <summary>Gets or sets the label of that checkpoint; <c>step-N</c> when absent.</summary>
    public string? Label { get; set; }
}
