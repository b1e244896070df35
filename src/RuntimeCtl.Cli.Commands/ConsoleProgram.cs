using System.Runtime.InteropServices;

namespace RuntimeCtl.Cli;

/// <summary>The entry point of both executables: the console, the environment and Ctrl-C, handed to <see cref="Cli.Run"/>.</summary>
internal static class ConsoleProgram
{
    /// <summary>Runs the process's command line and returns its exit code.</summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="web">The web commands (<c>runtimectl-web</c>), or <see langword="null"/> to hand them to that sibling (<c>runtimectl</c>).</param>
    public static int Run(string[] args, IWebCommands? web)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C ends a --wait cleanly; a second one ends the process as usual.
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });

        return Cli.Run(args, Console.Out, Console.Error, environment: null, stdoutIsTerminal: !Console.IsOutputRedirected, web, cancellation.Token);
    }
}
