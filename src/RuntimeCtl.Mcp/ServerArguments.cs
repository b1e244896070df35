namespace RuntimeCtl.Mcp;

/// <summary>The command line of <c>runtimectl-mcp</c> (what <c>runtimectl -q DIR mcp [--allow PATTERN]...</c> passes on).</summary>
/// <param name="QueueDirectory">The job's queue directory.</param>
/// <param name="Allow">The <c>--allow</c> patterns, in order; empty for the default policy.</param>
/// <param name="AllowShared">Whether commands may be queued in a group-writable queue directory.</param>
internal sealed record ServerArguments(string QueueDirectory, IReadOnlyList<string> Allow, bool AllowShared)
{
    /// <summary>The usage text, for <c>--help</c> and errors.</summary>
    public const string Usage = """
        Usage: runtimectl -q DIR mcp [--allow PATTERN]... [--allow-shared]

        A Model Context Protocol server on stdio for the job whose queue directory is DIR (default
        $RUNTIMECTL_QUEUE): an AI agent lists its controls, sends commands and waits for their acks, and
        reads its status and the metrics it reports. Register it with an MCP client as the command
        'runtimectl' with the arguments '-q DIR mcp'.

          --allow PATTERN  The controls the agent may send to: a path, or a pattern where '*' stands for
                           any characters (optimizer.*). Repeatable. Without it, every control but
                           train.stop and load_ckpt; with it, only the paths it matches (name those two
                           to allow them).
          --allow-shared   Accept a group-writable queue directory.
        """;

    /// <summary>Parses the arguments.</summary>
    /// <returns>The arguments, or <see langword="null"/> when help was asked for.</returns>
    /// <exception cref="FormatException">The arguments are wrong; the message says how.</exception>
    public static ServerArguments? Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        string? queue = null;
        var allow = new List<string>();
        var allowShared = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    return null;
                case "-q" or "--queue":
                    queue = Value(args, ref i);
                    break;
                case "--allow":
                    var pattern = Value(args, ref i);
                    allow.Add(AllowList.IsValidPattern(pattern) ? pattern : throw new FormatException($"--allow needs a control's path or a pattern such as 'optimizer.*', got '{pattern}'."));
                    break;
                case "--allow-shared":
                    allowShared = true;
                    break;
                case var other:
                    throw new FormatException($"unknown argument '{other}'.");
            }
        }

        queue ??= environment("RUNTIMECTL_QUEUE");
        return string.IsNullOrWhiteSpace(queue)
            ? throw new FormatException("no queue directory: give -q DIR, or set RUNTIMECTL_QUEUE.")
            : new ServerArguments(queue, allow, allowShared);
    }

    private static string Value(IReadOnlyList<string> args, ref int i) =>
        ++i < args.Count && args[i].Length > 0 ? args[i] : throw new FormatException($"{args[i - 1]} needs a value.");
}
