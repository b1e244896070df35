namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl-web</c>: the <c>runtimectl</c> command with its web stack, which <c>runtimectl</c> runs with its own
/// command line for <c>serve</c> (Kestrel) and <c>--url</c> (HttpClient). The same grammar, messages and exit codes.
/// </summary>
internal static class Program
{
    private static int Main(string[] args) => ConsoleProgram.Run(args, WebCommands.Instance);
}
