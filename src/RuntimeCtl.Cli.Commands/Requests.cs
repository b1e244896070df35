using System.Text.Json;

namespace RuntimeCtl.Cli;

/// <summary>What the command line asks for, checked and ready to run.</summary>
/// <param name="QueueDirectory">The queue directory, as given; with <see cref="Remote"/>, the dashboard's address (without the token).</param>
internal abstract record CliRequest(string QueueDirectory)
{
    /// <summary>Gets the dashboard to go through (<c>--url</c>), or <see langword="null"/> to use the queue directory.</summary>
    public Remote.RemoteEndpoint? Remote { get; init; }
}

/// <summary>Append one command (and maybe wait for its ack).</summary>
/// <param name="QueueDirectory">The queue directory, as given.</param>
/// <param name="Path">The control's path.</param>
/// <param name="Args">The positional arguments: JSON values, or plain strings for words that are not JSON.</param>
/// <param name="Kwargs">The keyword arguments, in the order <c>--kwargs</c> gave them.</param>
/// <param name="AtStep">The <c>at_step</c> extension, if given.</param>
/// <param name="Wait">Whether to wait for the ack.</param>
/// <param name="Timeout">How long to wait.</param>
/// <param name="Force">Whether to send a path the trainer has not registered.</param>
/// <param name="AllowShared">Whether a group-writable queue directory is accepted.</param>
internal sealed record SendRequest(
    string QueueDirectory,
    string Path,
    IReadOnlyList<object?> Args,
    IReadOnlyList<KeyValuePair<string, object?>> Kwargs,
    long? AtStep,
    bool Wait,
    TimeSpan Timeout,
    bool Force,
    bool AllowShared) : CliRequest(QueueDirectory);

/// <summary>Show the queue's status, or with <paramref name="Follow"/> tail its acks.</summary>
/// <param name="QueueDirectory">The queue directory.</param>
/// <param name="Last">How many of the last acks to show.</param>
/// <param name="Json">Whether to print JSON even on a terminal.</param>
/// <param name="Follow">Whether to print each new ack as it comes.</param>
/// <param name="AllowNetworkFileSystem">Whether to leave out the warning about a network or FUSE file system.</param>
internal sealed record StatusRequest(string QueueDirectory, int Last, bool Json, bool Follow = false, bool AllowNetworkFileSystem = false) : CliRequest(QueueDirectory);

/// <summary>Serve the dashboard.</summary>
/// <param name="QueueDirectory">The queue directory, as given.</param>
/// <param name="Host">The address to listen on (loopback unless <c>--allow-remote</c> was given).</param>
/// <param name="Port">The TCP port; 0 picks a free one.</param>
/// <param name="AllowShared">Whether commands may be sent to a group-writable queue directory.</param>
/// <param name="Open">Whether to open the page in a browser through a 0600 redirect file (the token never in a command line).</param>
internal sealed record ServeRequest(string QueueDirectory, System.Net.IPAddress Host, int Port, bool AllowShared, bool Open = false) : CliRequest(QueueDirectory);

/// <summary>Show the trainer's registered controls.</summary>
internal sealed record ControlsRequest(string QueueDirectory, bool Json) : CliRequest(QueueDirectory);

/// <summary>Turns the words of a command line into JSON values, as the original CLI does.</summary>
internal static class ArgumentValues
{
    /// <summary>The value a word stands for: the JSON value it parses as (<c>0.5</c>, <c>true</c>, <c>null</c>, <c>[1,2]</c>, <c>"0.5"</c>), else the word as a string.</summary>
    /// <remarks>
    /// Unlike Python's <c>json.loads</c>, <c>NaN</c> and <c>Infinity</c> are not numbers (they would make the line
    /// invalid JSON) and stay strings; so does JSON with a duplicate key, which the trainer would refuse whole.
    /// </remarks>
    public static object? Parse(string word)
    {
        if (TryParseJson(word, out var element, out _))
        {
            return element;
        }

        return word;
    }

    /// <summary>Whether a word is a JSON number (so <c>-0.5</c> is a value, not an option).</summary>
    public static bool IsNumber(string word) =>
        TryParseJson(word, out var element, out _) && element.ValueKind == JsonValueKind.Number;

    /// <summary>The keyword arguments of <c>--kwargs</c>: a JSON object, or <c>null</c> for none.</summary>
    /// <exception cref="UsageException">The text is not JSON, or not an object or null.</exception>
    public static IReadOnlyList<KeyValuePair<string, object?>> ParseKwargs(string? text)
    {
        if (text is null)
        {
            return [];
        }

        if (!TryParseJson(text, out var element, out var error))
        {
            throw new UsageException($"--kwargs must be a JSON object such as '{{\"label\":\"manual\"}}' (or null for none), but '{Shorten(text)}' is not valid JSON: {error}");
        }

        return element.ValueKind switch
        {
            JsonValueKind.Null => [],
            JsonValueKind.Object => element.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, p.Value)).ToArray(),
            _ => throw new UsageException($"--kwargs must be a JSON object such as '{{\"label\":\"manual\"}}' (or null for none), got {Describe(element.ValueKind)}: '{Shorten(text)}'."),
        };
    }

    private static bool TryParseJson(string text, out JsonElement element, out string? error)
    {
        try
        {
            using var document = JsonDocument.Parse(text, JsonFormat.DocumentOptions);
            element = document.RootElement.Clone();
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            element = default;
            error = e.Message;
            return false;
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => kind.ToString(),
    };

    private static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}

/// <summary>List every command of the queue with its outcome.</summary>
/// <param name="QueueDirectory">The queue directory, as given.</param>
/// <param name="Json">Whether to print JSON lines even on a terminal.</param>
/// <param name="Status">Only commands with this outcome, or null for all.</param>
internal sealed record HistoryRequest(string QueueDirectory, bool Json, string? Status) : CliRequest(QueueDirectory);

/// <summary>Queue the applied commands of another run, each at the step it was applied at.</summary>
/// <param name="QueueDirectory">The new queue directory.</param>
/// <param name="From">The queue directory of the run to reproduce.</param>
/// <param name="DryRun">Whether to print the plan and write nothing.</param>
/// <param name="Append">Whether to queue even though the new queue has commands.</param>
/// <param name="AllowShared">Whether a group-writable new queue directory is accepted.</param>
internal sealed record ReplayRequest(string QueueDirectory, string From, bool DryRun, bool Append, bool AllowShared) : CliRequest(QueueDirectory);

/// <summary>Run the MCP server on stdio.</summary>
/// <param name="QueueDirectory">The queue directory, as given.</param>
/// <param name="Allow">The <c>--allow</c> patterns: the controls an agent may send to (empty: all but the destructive ones).</param>
/// <param name="AllowShared">Whether commands may be queued in a group-writable queue directory.</param>
internal sealed record McpRequest(string QueueDirectory, IReadOnlyList<string> Allow, bool AllowShared) : CliRequest(QueueDirectory);
