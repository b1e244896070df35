namespace RuntimeCtl.Cli;

/// <summary><c>runtimectl</c>: every command but <c>serve</c> and <c>--url</c>, which run in <c>runtimectl-web</c>.</summary>
internal static class Program
{
    private static int Main(string[] args) => ConsoleProgram.Run(args, web: null);
}
