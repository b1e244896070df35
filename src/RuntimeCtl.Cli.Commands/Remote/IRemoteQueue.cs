namespace RuntimeCtl.Cli.Remote;

/// <summary>
/// The CLI's side of <c>runtimectl serve</c>'s HTTP API (<c>--url</c>): the same reads and writes as on a queue
/// directory, made by the server on its machine. Implemented in <c>runtimectl-web</c> (HttpClient stays out of the
/// <c>runtimectl</c> binary); synchronous, like the rest of the CLI.
/// </summary>
/// <remarks>Calls throw <see cref="RemoteException"/> when the dashboard cannot be reached or refuses.</remarks>
internal interface IRemoteQueue : IDisposable
{
    /// <summary>Reads the queue's status with its last <paramref name="last"/> acks.</summary>
    RemoteStatus ReadStatus(int last);

    /// <summary>The lines of <c>runtimectl history --json</c> as the server reads them, streamed: the request is made here, the lines read from the reader.</summary>
    TextReader OpenHistory(string? status);

    /// <summary>Queues one command through the server (which checks it as the trainer would).</summary>
    SentCommand Post(string path, IReadOnlyList<object?> args, IReadOnlyList<KeyValuePair<string, object?>> kwargs, long? atStep);

    /// <summary>Waits up to <paramref name="wait"/> for a command's ack; <see langword="null"/> when none came.</summary>
    FoundAck? WaitForAck(SentCommand command, TimeSpan wait);
}

/// <summary>What the dashboard's <c>GET /api/status</c> replied: the queue read at one moment, with the server's clock.</summary>
/// <param name="QueueDirectory">The queue directory on the server, absolute.</param>
/// <param name="Exists">Whether it exists there.</param>
/// <param name="Now">The server's time of the reading, by which the trainer's liveness is judged (not the laptop's clock).</param>
/// <param name="Status">The counts, last acks and <c>controller.json</c>.</param>
internal sealed record RemoteStatus(string QueueDirectory, bool Exists, DateTimeOffset Now, QueueStatus Status);
