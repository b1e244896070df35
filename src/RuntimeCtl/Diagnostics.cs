namespace RuntimeCtl;

/// <summary>
/// A problem the controller survived but a person should know about (an ack that could not be written, a
/// <c>controller.json</c> that could not be replaced). Reported once per episode, not on every poll.
/// </summary>
/// <param name="Code">A stable identifier, e.g. <c>ack-write-failed</c>, <c>ack-write-recovered</c>.</param>
/// <param name="Message">What happened and what the controller does about it.</param>
/// <param name="Exception">The underlying error, if any.</param>
public sealed record RuntimeDiagnostic(string Code, string Message, Exception? Exception = null)
{
    /// <summary>A ready-made <see cref="RuntimeControllerOptions.OnDiagnostic"/>: writes <c>runtimectl: </c> and the message as one line to standard error.</summary>
    /// <param name="diagnostic">The problem.</param>
    public static void WriteToStandardError(RuntimeDiagnostic diagnostic)
    {
        ArgumentNullException.ThrowIfNull(diagnostic);
        Console.Error.WriteLine("runtimectl: " + diagnostic.Message);
    }
}
