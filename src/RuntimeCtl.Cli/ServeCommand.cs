using System.Net;
using RuntimeCtl.Cli.Dashboard;

namespace RuntimeCtl.Cli;

/// <summary><c>runtimectl serve</c>: runs the dashboard until Ctrl-C, after printing its URL with the token once.</summary>
internal static class ServeCommand
{
    public static int Run(ServeRequest request, CliContext context)
    {
        if (!IPAddress.IsLoopback(request.Host))
        {
            context.Note($"WARNING: listening on {request.Host}, not only on this machine. Anyone who can reach that address and learns the token can steer the job; the traffic is not encrypted.");
        }

        if (!Directory.Exists(request.QueueDirectory))
        {
            context.Note($"there is no queue directory '{request.QueueDirectory}' yet; the dashboard shows it once the trainer creates it.");
        }

        DashboardServer server;
        try
        {
            server = DashboardServer.StartAsync(request.QueueDirectory, request.Host, request.Port, request.AllowShared, context.Time, context.CancellationToken).GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            context.Note($"cannot listen on {request.Host}:{request.Port}: {e.Message}. Choose another --port (0 picks a free one).");
            return ExitCodes.Error;
        }

        try
        {
            context.Stdout.WriteLine(server.Url.ToString());
            context.Stdout.Flush();
            context.Stderr.WriteLine("runtimectl: serving the dashboard of '" + Path.GetFullPath(request.QueueDirectory) + "'; open the URL above (it holds the access token). Ctrl-C stops.");
            context.CancellationToken.WaitHandle.WaitOne();
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return ExitCodes.Success;
    }
}
