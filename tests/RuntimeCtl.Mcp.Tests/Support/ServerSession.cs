using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace RuntimeCtl.Mcp.Tests.Support;

/// <summary>
/// The SDK's client connected over stdio to a real <c>runtimectl -q DIR mcp</c> process (the CLI, which starts the
/// server next to it), closed at dispose.
/// </summary>
public sealed class ServerSession : IAsyncDisposable
{
    private readonly StringBuilder _stderr = new();

    private ServerSession(McpClient client) => Client = client;

    public McpClient Client { get; }

    /// <summary>Gets what the server wrote on stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static async Task<ServerSession> StartAsync(string queueDirectory, params string[] options)
    {
        var stderr = new StringBuilder();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "runtimectl",
            Command = TestPaths.DotnetHost,
            Arguments = ["exec", TestPaths.Cli, "-q", queueDirectory, "mcp", .. options],
            EnvironmentVariables = new Dictionary<string, string?> { ["RUNTIMECTL_QUEUE"] = null },
            StandardErrorLines = line =>
            {
                lock (stderr)
                {
                    stderr.AppendLine(line);
                }
            },
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var client = await McpClient.CreateAsync(transport, new McpClientOptions { ClientInfo = new Implementation { Name = "RuntimeCtl.Mcp.Tests", Version = "1.0" } }, cancellationToken: timeout.Token);
        var session = new ServerSession(client);
        lock (stderr)
        {
            session._stderr.Append(stderr);
        }

        return session;
    }

    /// <summary>Calls a tool; the result's text, parsed when it is JSON (after a first line of prose for errors).</summary>
    public async Task<ToolReply> CallAsync(string tool, Dictionary<string, object?>? arguments = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var result = await Client.CallToolAsync(tool, arguments ?? [], cancellationToken: timeout.Token);
        return new ToolReply(result.IsError == true, string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text)));
    }

    public async ValueTask DisposeAsync() => await Client.DisposeAsync();
}

/// <summary>One tool's answer: whether it is a tool error, and its text.</summary>
public sealed record ToolReply(bool IsError, string Text)
{
    /// <summary>The JSON of the reply: all of it, or for an error the part after its first line.</summary>
    public JsonElement Json
    {
        get
        {
            var start = Text.StartsWith('{') ? 0 : Text.IndexOf("\n{", StringComparison.Ordinal) + 1;
            Assert.True(start >= 0, "no JSON in the reply: " + Text);
            using var document = JsonDocument.Parse(Text[start..]);
            return document.RootElement.Clone();
        }
    }

    public override string ToString() => $"{(IsError ? "error" : "ok")}: {Text}";
}
