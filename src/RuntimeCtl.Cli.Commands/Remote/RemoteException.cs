namespace RuntimeCtl.Cli.Remote;

/// <summary>A call to the dashboard failed: the message says what happened, and the exit code follows the local CLI's.</summary>
internal sealed class RemoteException : Exception
{
    public RemoteException(string message, int exitCode, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    /// <summary>Gets the exit code: <see cref="ExitCodes.Usage"/> when the server refused the command (nothing was sent), else <see cref="ExitCodes.Error"/>.</summary>
    public int ExitCode { get; }
}
