using RuntimeCtl.Cli.Remote;

namespace RuntimeCtl.Cli;

/// <summary>The web commands of <c>runtimectl-web</c>: the dashboard on Kestrel, the remote CLI on HttpClient.</summary>
internal sealed class WebCommands : IWebCommands
{
    private WebCommands()
    {
    }

    /// <summary>Gets the one instance (the commands hold no state).</summary>
    public static WebCommands Instance { get; } = new();

    /// <inheritdoc/>
    public int Serve(ServeRequest request, CliContext context) => ServeCommand.Run(request, context);

    /// <inheritdoc/>
    public IRemoteQueue Connect(RemoteEndpoint endpoint, CancellationToken cancellationToken) => new RemoteQueue(endpoint, cancellationToken);
}
