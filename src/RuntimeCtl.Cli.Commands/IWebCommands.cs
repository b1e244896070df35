using RuntimeCtl.Cli.Remote;

namespace RuntimeCtl.Cli;

/// <summary>
/// The commands that need the web stack: <c>serve</c> (Kestrel) and <c>--url</c> (HttpClient). <c>runtimectl-web</c>
/// has them; <c>runtimectl</c>, which has neither, runs <c>runtimectl-web</c> with the same command line instead.
/// </summary>
internal interface IWebCommands
{
    /// <summary>Runs the dashboard until Ctrl-C (<c>runtimectl serve</c>) and returns the exit code.</summary>
    int Serve(ServeRequest request, CliContext context);

    /// <summary>Opens a connection to a job's dashboard (<c>--url</c>); no request is made yet.</summary>
    IRemoteQueue Connect(RemoteEndpoint endpoint, CancellationToken cancellationToken);
}
