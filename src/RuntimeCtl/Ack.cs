using System.Text.Json;

namespace RuntimeCtl;

/// <summary>The outcome of one command.</summary>
public enum AckStatus
{
    /// <summary>The control ran without error (on every rank).</summary>
    Applied,

    /// <summary>The command was refused before any control ran: bad shape, unknown path or op, duplicate id.</summary>
    Rejected,

    /// <summary>The control's validator or the control itself threw (on some rank).</summary>
    Failed,
}

/// <summary>The names of <see cref="AckStatus"/> in <c>acks.jsonl</c> (and in metric tags).</summary>
internal static class AckStatusText
{
    public static string ToWire(this AckStatus status) => status switch
    {
        AckStatus.Applied => "applied",
        AckStatus.Rejected => "rejected",
        _ => "failed",
    };
}

/// <summary>
/// The outcome of one command, as written to <c>acks.jsonl</c> and returned by <c>PollAndApply</c>. Immutable.
/// </summary>
public sealed class Ack
{
    private readonly byte[] _json;
    private JsonElement? _root;

    /// <summary>Initializes an ack from its line and the values written in it (<see cref="AckWriter.Write{TContext}"/>, the only place acks are built).</summary>
    internal Ack(byte[] json, string id, DateTimeOffset timestamp, string? path, string? op, AckStatus status, string? error, long? step, int? ranks, IReadOnlyDictionary<int, string>? rankErrors)
    {
        _json = json;
        Id = id;
        Timestamp = timestamp;
        Path = path;
        Op = op;
        Status = status;
        Error = error;
        Step = step;
        Ranks = ranks;
        RankErrors = rankErrors;
    }

    /// <summary>Gets the ack's line as written, without its newline.</summary>
    internal ReadOnlyMemory<byte> Utf8Json => _json;

    /// <summary>Gets the command's id, or the generated one when the command had none.</summary>
    public string Id { get; }

    /// <summary>Gets the time the ack was written.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Gets the command's path as sent (a non-string path as its JSON text), or <see langword="null"/> when missing or null.</summary>
    public string? Path { get; }

    /// <summary>Gets the command's op as sent (<c>"set"</c> when missing; a non-string op as its JSON text).</summary>
    public string? Op { get; }

    /// <summary>Gets the outcome.</summary>
    public AckStatus Status { get; }

    /// <summary>Gets the positional arguments after validation (applied acks only).</summary>
    public JsonElement? Args => Status == AckStatus.Applied ? Root.GetProperty("args") : null;

    /// <summary>Gets the keyword arguments after validation (applied acks only).</summary>
    public JsonElement? Kwargs => Status == AckStatus.Applied ? Root.GetProperty("kwargs") : null;

    /// <summary>Gets the error message (rejected and failed acks only).</summary>
    public string? Error { get; }

    /// <summary>Gets the step of the poll that handled the command, when the poll was given one.</summary>
    public long? Step { get; }

    /// <summary>Gets the world size, for jobs with several ranks.</summary>
    public int? Ranks { get; }

    /// <summary>Gets the message of each rank whose control threw, keyed by rank (multi-rank jobs only).</summary>
    public IReadOnlyDictionary<int, string>? RankErrors { get; }

    private JsonElement Root
    {
        get
        {
            if (_root is null)
            {
                using var document = JsonDocument.Parse(_json);
                _root = document.RootElement.Clone();
            }

            return _root.Value;
        }
    }

    /// <summary>Returns the ack as the JSON line written to <c>acks.jsonl</c> (without the newline).</summary>
    /// <returns>The JSON text.</returns>
    public override string ToString() => System.Text.Encoding.UTF8.GetString(_json);
}
