using System.CommandLine;

namespace RuntimeCtl.Cli;

/// <summary>The <c>runtimectl</c> command, runnable in-process: everything but the console lives here.</summary>
internal static class Cli
{
    /// <summary>Runs one command line. Results go to <paramref name="stdout"/>, everything else to <paramref name="stderr"/>.</summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="stdout">Where results go: one JSON line per command sent or ack waited for, or a report.</param>
    /// <param name="stderr">Where usage errors, refusals and notes go.</param>
    /// <param name="environment">The environment variables (<c>RUNTIMECTL_QUEUE</c> and <c>RUNTIMECTL_TOKEN</c> are read); <see langword="null"/> for the process's own.</param>
    /// <param name="stdoutIsTerminal">Whether a person reads <paramref name="stdout"/>: reports are then tables instead of JSON.</param>
    /// <param name="web">
    /// The web commands (in <c>runtimectl-web</c>); <see langword="null"/> in <c>runtimectl</c>, which runs
    /// <c>runtimectl-web</c> with <paramref name="args"/> as they are for <c>serve</c> and <c>--url</c>.
    /// </param>
    /// <param name="cancellationToken">Ends a <c>--wait</c> early (Ctrl-C).</param>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, IReadOnlyDictionary<string, string?>? environment = null, bool stdoutIsTerminal = false, IWebCommands? web = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var grammar = new CliGrammar();
        var parse = grammar.Parse(args);
        if (grammar.IsHelpOrVersion(parse))
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }

        Func<string, string?> variables = name => environment is null ? Environment.GetEnvironmentVariable(name) : environment.GetValueOrDefault(name);
        var context = new CliContext(stdout, stderr, stdoutIsTerminal, TimeProvider.System, cancellationToken) { Environment = variables, Web = web };
        try
        {
            var request = grammar.Bind(parse, variables);
            if (web is null && (request is ServeRequest || request.Remote is not null))
            {
                // Checked here first, so a usage error needs no second process; the sibling parses the same words again.
                return SiblingExecutable.Web.Run(args, context);
            }

            return request switch
            {
                StatusRequest { Follow: true } follow => FollowCommand.Run(follow, context),
                StatusRequest status => StatusCommand.Run(status, context),
                ServeRequest serve => context.WebCommands.Serve(serve, context),
                McpRequest mcp => McpCommand.Run(mcp, context),
                HistoryRequest history => HistoryCommand.Run(history, context),
                ReplayRequest replay => ReplayCommand.Run(replay, context),
                ControlsRequest controls => ControlsCommand.Run(controls, context),
                SendRequest send => SendCommand.Run(send, context),
                _ => throw new InvalidOperationException("Unknown request " + request.GetType().Name),
            };
        }
        catch (UsageException e)
        {
            context.Note(e.Message);
            stderr.WriteLine("Run 'runtimectl --help' for usage.");
            return ExitCodes.Usage;
        }
        catch (Remote.RemoteException e)
        {
            context.Note(e.Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.Note("interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (QueueConfigurationException e)
        {
            // The core's message says what is unsafe and how to fix it.
            context.Note(e.Message);
            return ExitCodes.Usage;
        }
        catch (IOException e)
        {
            // Most often a closed pipe on stdout ('runtimectl status | head -c 10'); stderr may be gone as well.
            try
            {
                context.Note(e.Message);
            }
            catch (IOException)
            {
            }

            return ExitCodes.Error;
        }
    }
}

/// <summary>Where a command writes, and the clock it reads.</summary>
internal sealed record CliContext(TextWriter Stdout, TextWriter Stderr, bool StdoutIsTerminal, TimeProvider Time, CancellationToken CancellationToken)
{
    /// <summary>Writes one line on stderr, prefixed with the program's name.</summary>
    public void Note(string message) => Stderr.WriteLine("runtimectl: " + message);

    /// <summary>Gets the environment variables the command sees (the process's, or a test's).</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Gets the web commands, or <see langword="null"/> in <c>runtimectl</c> (which hands them to <c>runtimectl-web</c>).</summary>
    public IWebCommands? Web { get; init; }

    /// <summary>Gets the web commands of a process that has them.</summary>
    /// <exception cref="InvalidOperationException">This is <c>runtimectl</c>, which should have run <c>runtimectl-web</c> instead.</exception>
    public IWebCommands WebCommands => Web ?? throw new InvalidOperationException("serve and --url run in runtimectl-web; Cli.Run hands them over before they get here.");

    /// <summary>Opens a connection to the job's dashboard (<c>--url</c>).</summary>
    public Remote.IRemoteQueue Connect(Remote.RemoteEndpoint endpoint) => WebCommands.Connect(endpoint, CancellationToken);
}
