namespace RuntimeCtl.TorchSharp;

/// <summary>
/// A checkpoint was refused because it belongs to another architecture or optimizer; the model and the optimizer
/// were not touched.
/// </summary>
public sealed class CheckpointMismatchException : RuntimeCtlException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="differences">Each difference found, one sentence each.</param>
    public CheckpointMismatchException(string directory, IReadOnlyList<string> differences)
        : base(BuildMessage(directory, differences))
    {
        Directory = directory;
        Differences = differences;
    }

    /// <summary>Gets the checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>Gets each difference between the checkpoint and the model or optimizer it was to be loaded into.</summary>
    public IReadOnlyList<string> Differences { get; }

    private static string BuildMessage(string directory, IReadOnlyList<string> differences)
    {
        ArgumentNullException.ThrowIfNull(differences);
        const int Shown = 10;
        var lines = differences.Take(Shown).Select(d => "  - " + d);
        var more = differences.Count > Shown ? $"{Environment.NewLine}  ... and {differences.Count - Shown} more." : string.Empty;
        return $"The checkpoint in '{directory}' does not fit this model and optimizer ({differences.Count} difference(s)); nothing was loaded:{Environment.NewLine}"
            + string.Join(Environment.NewLine, lines) + more + Environment.NewLine
            + "Load a checkpoint saved from the same architecture and optimizer type, or build the model the checkpoint was saved from.";
    }
}
