namespace RuntimeCtl.Cli;

/// <summary>The exit codes of <c>runtimectl</c>.</summary>
internal static class ExitCodes
{
    /// <summary>Done; with <c>--wait</c>, the command was applied.</summary>
    public const int Success = 0;

    /// <summary>Something the user can check went wrong: no queue directory, no <c>controller.json</c>, an unreadable file.</summary>
    public const int Error = 1;

    /// <summary>A usage error, a refused command (unknown path) or an unsafe queue directory: nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>With <c>--wait</c>: the command was rejected.</summary>
    public const int Rejected = 3;

    /// <summary>With <c>--wait</c>: the command failed (its validator or control threw).</summary>
    public const int Failed = 4;

    /// <summary>With <c>--wait</c>: no ack came before the timeout; the command stays queued.</summary>
    public const int Timeout = 5;

    /// <summary>With <c>--wait</c>: interrupted (Ctrl-C or SIGTERM) before the ack came; the command stays queued.</summary>
    public const int Interrupted = 130;
}
