using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl -q DIR mcp [--allow PATTERN]...</c>: runs the MCP server, a sibling executable (as <c>git</c> runs
/// <c>git-foo</c>), on this process's own stdin and stdout, and exits with its exit code. The MCP SDK is in the
/// sibling only, so it costs the <c>runtimectl</c> binary nothing.
/// </summary>
internal static class McpCommand
{
    /// <summary>The server's native binary, next to a published <c>runtimectl</c>.</summary>
    public const string ExecutableName = "runtimectl-mcp";

    /// <summary>The server's assembly, next to <c>RuntimeCtl.Cli.dll</c> in the build output and the tool package.</summary>
    public const string AssemblyName = "RuntimeCtl.Mcp.dll";

    public static int Run(McpRequest request, CliContext context)
    {
        var start = StartInfo(AppContext.BaseDirectory);
        if (start is null)
        {
            context.Note($"the MCP server is missing: neither {ExecutableName} nor {AssemblyName} is next to runtimectl in '{AppContext.BaseDirectory}'. Reinstall runtimectl (dotnet tool update -g RuntimeCtl.Cli, or publish src/RuntimeCtl.Cli again).");
            return ExitCodes.Error;
        }

        start.ArgumentList.Add("-q");
        start.ArgumentList.Add(Path.GetFullPath(request.QueueDirectory));
        foreach (var pattern in request.Allow)
        {
            start.ArgumentList.Add("--allow");
            start.ArgumentList.Add(pattern);
        }

        if (request.AllowShared)
        {
            start.ArgumentList.Add("--allow-shared");
        }

        // No redirection: the server talks to the MCP client over the stdin and stdout this process was given.
        start.UseShellExecute = false;
        using var server = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned no process for " + start.FileName);

        // Ctrl-C in a terminal reaches the server too (same process group); a SIGTERM sent to runtimectl alone ends it here.
        using var stop = context.CancellationToken.Register(() =>
        {
            try
            {
                server.Kill();
            }
            catch (InvalidOperationException)
            {
            }
        });
        server.WaitForExit();
        return context.CancellationToken.IsCancellationRequested ? ExitCodes.Interrupted : server.ExitCode;
    }

    /// <summary>
    /// How to start the server from <paramref name="directory"/>: its native binary when <c>runtimectl</c> was published
    /// with Native AOT, else its assembly run by the dotnet host with <c>runtimectl</c>'s own runtime configuration and
    /// dependency list (which hold the server's dependencies too); <see langword="null"/> when neither is there.
    /// </summary>
    internal static ProcessStartInfo? StartInfo(string directory)
    {
        var native = Path.Combine(directory, ExecutableName);
        if (File.Exists(native))
        {
            return new ProcessStartInfo(native);
        }

        var assembly = Path.Combine(directory, AssemblyName);
        if (!File.Exists(assembly))
        {
            return null;
        }

        var start = new ProcessStartInfo(DotnetHost());
        start.ArgumentList.Add("exec");
        foreach (var (option, file) in (ReadOnlySpan<(string, string)>)[("--runtimeconfig", "RuntimeCtl.Cli.runtimeconfig.json"), ("--depsfile", "RuntimeCtl.Cli.deps.json")])
        {
            var path = Path.Combine(directory, file);
            if (File.Exists(path))
            {
                start.ArgumentList.Add(option);
                start.ArgumentList.Add(path);
            }
        }

        start.ArgumentList.Add(assembly);
        return start;
    }

    /// <summary>The dotnet host that runs this process: <c>DOTNET_HOST_PATH</c>, else the one above the runtime in use, else <c>dotnet</c> on the PATH.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        // .../dotnet/shared/Microsoft.NETCore.App/10.0.x/ -> .../dotnet/dotnet
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var muxer = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(muxer) ? muxer : "dotnet";
    }
}
