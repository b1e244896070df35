using System.Runtime.InteropServices;

namespace RuntimeCtl.Cli;

/// <summary>The process entry point: the console, the environment and Ctrl-C, handed to <see cref="Cli.Run"/>.</summary>
internal static class Program
{
    private static int Main(string[] args)
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

        return Cli.Run(args, Console.Out, Console.Error, environment: null, stdoutIsTerminal: !Console.IsOutputRedirected, cancellation.Token);
    }
}
