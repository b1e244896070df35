using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace RuntimeCtl.Mcp;

/// <summary>
/// <c>runtimectl-mcp</c> (started by <c>runtimectl -q DIR mcp</c>): a Model Context Protocol server on stdio over one
/// queue directory. stdout carries the protocol only; notes and the SDK's warnings go to stderr.
/// </summary>
internal static class Program
{
    /// <summary>What the client shows the agent about this server before it calls a tool.</summary>
    public const string Instructions = """
        This server steers one running training job through its RuntimeCtl queue. Call list_controls first: it
        gives the controls (path, parameters, current value) and whether the trainer is alive. send_command queues
        a command and waits for its ack; the trainer applies commands only at step boundaries, and an ack says
        applied, rejected or failed (with the reason). After a timeout the command stays queued and will still be
        applied: never send it again, read get_status instead. get_metrics gives the recent loss and other metrics,
        so you can see the effect of a change a few hundred steps later. Change one thing at a time.
        """;

    private static async Task<int> Main(string[] args)
    {
        ServerArguments? arguments;
        try
        {
            arguments = ServerArguments.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync("runtimectl mcp: " + e.Message + Environment.NewLine + ServerArguments.Usage).ConfigureAwait(false);
            return 2;
        }

        if (arguments is null)
        {
            await Console.Out.WriteLineAsync(ServerArguments.Usage).ConfigureAwait(false);
            return 0;
        }

        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });

        var tools = new QueueTools(arguments, TimeProvider.System);
        var options = Options(tools);
        using var logging = new StderrLoggerFactory(LogLevel.Warning);
        await using var transport = new StdioServerTransport(options, logging);
        await using var server = McpServer.Create(transport, options, logging);
        try
        {
            await server.RunAsync(cancellation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }

        return 0;
    }

    /// <summary>The server's identity, its one capability (tools) and the handlers of <c>tools/list</c> and <c>tools/call</c>.</summary>
    internal static McpServerOptions Options(QueueTools tools) => new()
    {
        ServerInfo = new Implementation
        {
            Name = "runtimectl",
            Title = "RuntimeCtl: steer a running training job",
            Version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0",
        },
        Capabilities = new ServerCapabilities { Tools = new ToolsCapability() },
        ServerInstructions = Instructions.ReplaceLineEndings(" "),
        Handlers = new McpServerHandlers
        {
            ListToolsHandler = (_, _) => ValueTask.FromResult(new ListToolsResult { Tools = ToolCatalog.Tools }),
            CallToolHandler = async (request, cancellationToken) =>
            {
                var call = request.Params ?? throw new McpProtocolException("tools/call needs params.", McpErrorCode.InvalidParams);
                return await tools.CallAsync(call.Name, call.Arguments, cancellationToken).ConfigureAwait(false)
                    ?? throw new McpProtocolException($"Unknown tool: '{call.Name}'. The tools are {string.Join(", ", ToolCatalog.Tools.Select(t => t.Name))}.", McpErrorCode.InvalidParams);
            },
        },
    };
}

/// <summary>The SDK's log on stderr (never stdout, which carries the protocol), from <see cref="LogLevel"/> on.</summary>
internal sealed class StderrLoggerFactory(LogLevel minimum) : ILoggerFactory, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Console.Error.WriteLine($"runtimectl mcp: {logLevel}: {formatter(state, exception)}{(exception is null ? string.Empty : " (" + exception.Message + ")")}");
        }
    }

    public void Dispose()
    {
    }
}
