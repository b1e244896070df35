using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RuntimeCtl.Cli;

/// <summary>
/// An executable next to <c>runtimectl</c> that runs a part of it (as <c>git</c> runs <c>git-foo</c>), so that part's
/// dependencies cost the <c>runtimectl</c> binary nothing: its native binary next to a published <c>runtimectl</c>,
/// else its assembly run by the dotnet host (the build output, the tool package). It runs on this process's stdin,
/// stdout and stderr, a stop request (SIGTERM, Ctrl-C) is passed on to it, and its exit code is this process's.
/// </summary>
internal sealed partial class SiblingExecutable
{
    // After a stop request is passed on: how long the sibling has to end on its own before it is killed.
    private static readonly TimeSpan StopGracePeriod = TimeSpan.FromSeconds(10);

    private readonly string _what;
    private readonly string _runtimeConfiguration;

    private SiblingExecutable(string what, string executableName, string assemblyName, string runtimeConfiguration)
    {
        _what = what;
        ExecutableName = executableName;
        AssemblyName = assemblyName + ".dll";
        _runtimeConfiguration = runtimeConfiguration;
    }

    /// <summary>
    /// Gets the MCP server (<c>runtimectl mcp</c>). Its assembly runs with <c>runtimectl</c>'s own runtime configuration
    /// and dependency list, which hold the server's dependencies too.
    /// </summary>
    public static SiblingExecutable Mcp { get; } = new("the MCP server", "runtimectl-mcp", "RuntimeCtl.Mcp", "RuntimeCtl.Cli");

    /// <summary>
    /// Gets the web part (<c>runtimectl serve</c>, <c>runtimectl --url</c>). Its assembly runs with its own runtime
    /// configuration, which names the ASP.NET Core shared framework that <c>runtimectl</c> does without.
    /// </summary>
    public static SiblingExecutable Web { get; } = new("the web part of runtimectl (serve, --url)", "runtimectl-web", "RuntimeCtl.Web", "RuntimeCtl.Web");

    /// <summary>Gets the name of the native binary, next to a published <c>runtimectl</c>.</summary>
    public string ExecutableName { get; }

    /// <summary>Gets the file name of the assembly, next to <c>RuntimeCtl.Cli.dll</c> in the build output and the tool package.</summary>
    public string AssemblyName { get; }

    /// <summary>Runs the sibling found next to this program with <paramref name="arguments"/> and returns its exit code.</summary>
    /// <returns>The sibling's exit code, or <see cref="ExitCodes.Error"/> (with a note) when it is missing.</returns>
    public int Run(IEnumerable<string> arguments, CliContext context)
    {
        var start = StartInfo(AppContext.BaseDirectory);
        if (start is null)
        {
            context.Note($"{_what} is missing: neither {ExecutableName} nor {AssemblyName} is next to runtimectl in '{AppContext.BaseDirectory}'. Reinstall runtimectl (dotnet tool update -g RuntimeCtl.Cli, or publish src/RuntimeCtl.Cli again).");
            return ExitCodes.Error;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No redirection: the sibling reads and writes the stdin, stdout and stderr this process was given.
        start.UseShellExecute = false;
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned no process for " + start.FileName);
        var exited = child.WaitForExitAsync(CancellationToken.None);
        try
        {
            exited.Wait(context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // Ctrl-C in a terminal reaches the sibling too (same process group), a SIGTERM sent to runtimectl alone
            // only here: either way the sibling is asked to stop and ends as it would have on its own.
            Stop(child);
            if (!exited.Wait(StopGracePeriod))
            {
                Kill(child);
            }
        }

        child.WaitForExit();
        return child.ExitCode;
    }

    /// <summary>
    /// How to start the sibling from <paramref name="directory"/>: its native binary if there, else its assembly run
    /// by the dotnet host (with the runtime configuration and dependency list it needs, those that are there);
    /// <see langword="null"/> when neither is there.
    /// </summary>
    public ProcessStartInfo? StartInfo(string directory)
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
        foreach (var (option, file) in (ReadOnlySpan<(string, string)>)[("--runtimeconfig", _runtimeConfiguration + ".runtimeconfig.json"), ("--depsfile", _runtimeConfiguration + ".deps.json")])
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

    /// <summary>Asks the sibling to stop: SIGTERM, which it handles as a Ctrl-C (Windows has no such signal: it is killed).</summary>
    private static void Stop(Process child)
    {
        if (OperatingSystem.IsWindows() || SendSignal(child.Id, Sigterm) != 0)
        {
            Kill(child);
        }
    }

    private static void Kill(Process child)
    {
        try
        {
            child.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }
    }

    private const int Sigterm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
