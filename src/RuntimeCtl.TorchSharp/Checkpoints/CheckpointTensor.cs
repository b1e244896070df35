namespace RuntimeCtl.TorchSharp;

/// <summary>One entry of a model's state (a parameter or a persistent buffer) as a checkpoint records it.</summary>
/// <param name="Name">The entry's name in <c>state_dict()</c>, such as <c>fc1.weight</c>.</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="DType">The tensor's element type, such as <c>Float32</c>.</param>
public sealed record CheckpointTensor(string Name, IReadOnlyList<long> Shape, string DType)
{
    /// <summary>Gets the shape as text, such as <c>[128, 16]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <inheritdoc/>
    public bool Equals(CheckpointTensor? other) =>
        other is not null && Name == other.Name && DType == other.DType && Shape.SequenceEqual(other.Shape);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, DType, Shape.Count);
}
