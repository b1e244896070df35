namespace RuntimeCtl.Cli;

/// <summary>The command line is wrong: reported on stderr with exit code 2, before anything is sent.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }
}
