namespace RuntimeCtl;

/// <summary>A sender's command that the trainer would reject as it is; nothing was sent.</summary>
public sealed class CommandRefusedException : RuntimeCtlException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What the trainer would reject, ending with "Nothing was sent."</param>
    public CommandRefusedException(string message)
        : base(message)
    {
    }
}
