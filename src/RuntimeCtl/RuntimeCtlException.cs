namespace RuntimeCtl;

/// <summary>
/// The base of every exception RuntimeCtl throws on purpose. Only program misuse throws (a controller used
/// before <c>Configure</c>, a conflicting registration, an unsafe queue directory); what a sender writes
/// into the queue never throws into the training loop, it becomes an ack.
/// </summary>
public abstract class RuntimeCtlException : Exception
{
    /// <summary>Initializes a new instance with a message that says what was wrong and how to fix it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    protected RuntimeCtlException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>The queue directory is missing, unsafe, already set to another directory, or not set yet.</summary>
public sealed class QueueConfigurationException : RuntimeCtlException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="queueDirectory">The queue directory concerned, if any.</param>
    /// <param name="message">What was wrong and how to fix it.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public QueueConfigurationException(string? queueDirectory, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        QueueDirectory = queueDirectory;
    }

    /// <summary>Gets the queue directory concerned, or <see langword="null"/> when none was configured.</summary>
    public string? QueueDirectory { get; }
}

/// <summary>A control was registered in a way that conflicts with an existing one, or with a bad path.</summary>
public sealed class ControlRegistrationException : RuntimeCtlException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="path">The control's path.</param>
    /// <param name="message">What was wrong and how to fix it.</param>
    public ControlRegistrationException(string path, string message)
        : base(message)
    {
        Path = path;
    }

    /// <summary>Gets the path of the control concerned.</summary>
    public string Path { get; }
}

/// <summary>
/// The ranks of a multi-rank job cannot work together: no transport, a mismatched one (a launcher that started more
/// ranks than the process group has, an MPI library that does not belong to the launcher), or a call of the
/// transport failed (an MPI function returned an error).
/// </summary>
/// <remarks>
/// The message is a full sentence that says what went wrong and how to fix it. When a transport function failed,
/// <see cref="FunctionName"/> and <see cref="ErrorCode"/> say which and with what code.
/// </remarks>
public sealed class ProcessGroupException : RuntimeCtlException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What was wrong and how to fix it.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public ProcessGroupException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a transport function that returned an error.</summary>
    /// <param name="message">What was wrong and how to fix it.</param>
    /// <param name="functionName">The transport function that failed, for example <c>MPI_Allreduce</c>.</param>
    /// <param name="errorCode">The error code it returned.</param>
    public ProcessGroupException(string message, string functionName, int errorCode)
        : base(message)
    {
        FunctionName = functionName;
        ErrorCode = errorCode;
    }

    /// <summary>
    /// Gets the transport function that failed (for example <c>MPI_Allreduce</c>), or <see langword="null"/> when the
    /// failure did not come from a transport call (no library could be loaded, a launcher mismatch).
    /// </summary>
    public string? FunctionName { get; }

    /// <summary>
    /// Gets the error code the transport function returned (for MPI, the code of <see cref="FunctionName"/>), or
    /// <see langword="null"/> when the failure did not come from a transport call.
    /// </summary>
    public int? ErrorCode { get; }
}
