namespace RuntimeCtl.Mpi;

/// <summary>
/// Thrown when MPI cannot be used: no MPI library could be loaded, the loaded library does not belong to the
/// launcher that started the job, MPI was already finalized, or an MPI call returned an error.
/// </summary>
/// <remarks>
/// The message is a full sentence that says what went wrong and how to fix it, for example
/// "No MPI library could be loaded (…). Install Open MPI with `apt-get install openmpi-bin` …".
/// </remarks>
public sealed class MpiException : RuntimeCtlException
{
    /// <summary>Initializes a new instance with the given message.</summary>
    /// <param name="message">What went wrong and how to fix it.</param>
    /// <param name="innerException">The exception that caused this one, if any.</param>
    public MpiException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    internal MpiException(string message, int errorCode)
        : base(message)
    {
        ErrorCode = errorCode;
    }

    /// <summary>
    /// Gets the error code an MPI function returned, or <see langword="null"/> when the failure did not come from
    /// an MPI call (a library that cannot be loaded, a launcher mismatch).
    /// </summary>
    public int? ErrorCode { get; }
}
