namespace RuntimeCtl.TorchSharp;

/// <summary>What a checkpoint directory holds, as read from its manifest.</summary>
public sealed record TorchSharpCheckpointInfo
{
    /// <summary>Gets the checkpoint directory.</summary>
    public required string Directory { get; init; }

    /// <summary>Gets the training step the checkpoint was taken at.</summary>
    public required long Step { get; init; }

    /// <summary>Gets the position in the command queue up to which commands had been applied, so a resumed run skips them.</summary>
    public required long CommandPosition { get; init; }

    /// <summary>Gets the optimizer's type name, such as <c>AdamW</c>.</summary>
    public required string OptimizerType { get; init; }

    /// <summary>Gets the model's architecture signature: every parameter and persistent buffer with its shape and type.</summary>
    public required IReadOnlyList<CheckpointTensor> Tensors { get; init; }
}
