namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl -q DIR mcp [--allow PATTERN]...</c>: runs the MCP server, a sibling executable, on this process's own
/// stdin and stdout, and exits with its exit code. The MCP SDK is in the sibling only, so it costs the
/// <c>runtimectl</c> binary nothing.
/// </summary>
internal static class McpCommand
{
    /// <summary>The server's native binary, next to a published <c>runtimectl</c>.</summary>
    public static string ExecutableName => SiblingExecutable.Mcp.ExecutableName;

    /// <summary>The server's assembly, next to <c>RuntimeCtl.Cli.dll</c> in the build output and the tool package.</summary>
    public static string AssemblyName => SiblingExecutable.Mcp.AssemblyName;

    public static int Run(McpRequest request, CliContext context)
    {
        List<string> arguments = ["-q", Path.GetFullPath(request.QueueDirectory)];
        foreach (var pattern in request.Allow)
        {
            arguments.Add("--allow");
            arguments.Add(pattern);
        }

        if (request.AllowShared)
        {
            arguments.Add("--allow-shared");
        }

        return SiblingExecutable.Mcp.Run(arguments, context);
    }

    /// <summary>How to start the server from <paramref name="directory"/> (see <see cref="SiblingExecutable.StartInfo"/>).</summary>
    internal static System.Diagnostics.ProcessStartInfo? StartInfo(string directory) => SiblingExecutable.Mcp.StartInfo(directory);
}
