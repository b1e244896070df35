using System.Text;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>One registered control as <c>controller.json</c> lists it.</summary>
/// <param name="Path">The control's path.</param>
/// <param name="Parameters">Its parameters, in order (positional first as the trainer wrote them).</param>
/// <param name="Description">Its description, if any.</param>
/// <param name="Value">Its current value, when the control exposes one.</param>
/// <param name="Json">The entry as written, with any fields this reader does not know.</param>
public sealed record ControlSnapshot(string Path, IReadOnlyList<ControlParameter> Parameters, string? Description, JsonElement? Value, JsonElement Json);

/// <summary>
/// <c>controller.json</c> as read at one moment (docs/queue-format.md, "controller.json"): who the trainer is, when it last polled, its controls,
/// and the line counts it keeps for a fast <c>status</c>. Every field is optional, so files of other writers read too.
/// </summary>
public sealed class ControllerSnapshot
{
    /// <summary>A larger file is not a controller file: it is not read.</summary>
    internal const int MaxBytes = 16 * 1024 * 1024;

    private ControllerSnapshot(JsonElement root, IReadOnlyList<ControlSnapshot> controls)
    {
        Json = root;
        Controls = controls;
        Pid = Int64(root, ControllerFields.Pid);
        Host = String(root, ControllerFields.Host);
        StartedTs = Double(root, ControllerFields.StartedTs);
        LastPollTs = Double(root, ControllerFields.LastPollTs);
        StoppedTs = Double(root, ControllerFields.StoppedTs);
        PollIntervalSeconds = Double(root, ControllerFields.PollIntervalSeconds) is { } interval && double.IsFinite(interval) && interval >= 0 ? interval : 0;
        Step = Int64(root, ControllerFields.Step);
        WorldSize = Int64(root, ControllerFields.WorldSize);
        MaxLineBytes = Int64(root, ControllerFields.MaxLineBytes);
        CommandsLines = Int64(root, ControllerFields.CommandsLines);
        CommandsBytes = Int64(root, ControllerFields.CommandsBytes);
        AcksLines = Int64(root, ControllerFields.AcksLines);
        AcksBytes = Int64(root, ControllerFields.AcksBytes);
    }

    /// <summary>Gets the whole file as read.</summary>
    public JsonElement Json { get; }

    /// <summary>Gets whether the file lists the controls at all (a writer that does not know them leaves the list out).</summary>
    internal bool ListsControls => Json.TryGetProperty(ControllerFields.Controls, out var controls) && controls.ValueKind == JsonValueKind.Array;

    /// <summary>Gets the registered controls, in the file's order.</summary>
    public IReadOnlyList<ControlSnapshot> Controls { get; }

    /// <summary>Gets the trainer's process id.</summary>
    internal long? Pid { get; }

    /// <summary>Gets the trainer's host name.</summary>
    internal string? Host { get; }

    /// <summary>Gets when the trainer configured its controller, in seconds since the Unix epoch.</summary>
    internal double? StartedTs { get; }

    /// <summary>Gets when the trainer last polled (as of the file's last write), in seconds since the Unix epoch.</summary>
    internal double? LastPollTs { get; }

    /// <summary>Gets when the trainer's controller was disposed (it stopped polling on purpose), or null while it runs.</summary>
    internal double? StoppedTs { get; }

    /// <summary>Gets the trainer's poll interval in seconds (0 when unknown).</summary>
    internal double PollIntervalSeconds { get; }

    /// <summary>Gets the step of the trainer's last poll, when it polls with a step.</summary>
    internal long? Step { get; }

    /// <summary>Gets the number of ranks.</summary>
    internal long? WorldSize { get; }

    /// <summary>Gets the longest command line the trainer accepts, when it says.</summary>
    internal long? MaxLineBytes { get; }

    /// <summary>Gets the number of lines of <c>commands.jsonl</c> before <see cref="CommandsBytes"/>.</summary>
    internal long? CommandsLines { get; }

    /// <summary>Gets the offset of <c>commands.jsonl</c> the trainer had read up to.</summary>
    internal long? CommandsBytes { get; }

    /// <summary>Gets the number of lines of <c>acks.jsonl</c> before <see cref="AcksBytes"/>.</summary>
    internal long? AcksLines { get; }

    /// <summary>Gets the length of <c>acks.jsonl</c> after the trainer's last write.</summary>
    internal long? AcksBytes { get; }

    /// <summary>Gets the longest time since the last poll at which the trainer still counts as polling: <c>max(3 × poll interval, 5 s)</c>.</summary>
    internal TimeSpan FreshnessWindow => Freshness.Window(PollIntervalSeconds);

    /// <summary>Gets the seconds since the trainer's last poll (negative if its clock is ahead), or <see langword="null"/> when the file does not say.</summary>
    internal double? LastPollAgeSeconds(DateTimeOffset now) => LastPollTs is { } ts ? JsonFormat.UnixSeconds(now) - ts : null;

    /// <summary>Gets whether the trainer counts as polling at <paramref name="now"/> (docs/queue-format.md, "controller.json").</summary>
    /// <remarks>A last poll more than <see cref="ClockSkew"/> in the future is not fresh: such a file would otherwise count
    /// as alive forever, so a wrong clock (or a forged file) never passes for a live trainer.</remarks>
    public bool IsFresh(DateTimeOffset now) => StoppedTs is null && LastPollAgeSeconds(now) is { } age && age <= FreshnessWindow.TotalSeconds && !IsInTheFuture(age);

    /// <summary>The clock difference between the trainer's machine and a reader's that still counts as the same time.</summary>
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(2);

    /// <summary>Gets whether the last poll lies further in the future than <see cref="ClockSkew"/> (a wrong clock).</summary>
    internal bool LastPollInTheFuture(DateTimeOffset now) => LastPollAgeSeconds(now) is { } age && IsInTheFuture(age);

    private static bool IsInTheFuture(double age) => age < -ClockSkew.TotalSeconds || double.IsNaN(age);

    /// <summary>Gets whether a control with this exact path is registered.</summary>
    internal bool HasControl(string path) => Controls.Any(c => string.Equals(c.Path, path, StringComparison.Ordinal));

    /// <summary>Why a sender refuses a path this trainer does not know, or <see langword="null"/> to send it.</summary>
    /// <param name="path">The control's path.</param>
    /// <param name="queueLabel">The queue as the user named it (a directory, or a dashboard's address).</param>
    /// <param name="now">The time, to tell whether the trainer is polling.</param>
    /// <param name="forceHint">How the sender overrides the refusal, ending the message (<c>use --force to send it anyway</c>).</param>
    /// <returns>
    /// The refusal, naming the closest registered paths; <see langword="null"/> when the path is registered, or when the
    /// list is not to be trusted (the trainer is not polling, or its file lists no controls): then send as the original does.
    /// </returns>
    public string? UnknownPathRefusal(string path, string queueLabel, DateTimeOffset now, string forceHint)
    {
        if (!ListsControls || !IsFresh(now) || HasControl(path))
        {
            return null;
        }

        var paths = Controls.Select(c => c.Path).ToArray();
        var message = new StringBuilder($"the trainer on '{queueLabel}' has no control '{path}'");
        var closest = PathSuggestions.Closest(path, paths);
        if (closest.Count > 0)
        {
            message.Append(". Did you mean ").Append(string.Join(" or ", closest.Select(p => $"'{p}'"))).Append('?');
        }
        else if (paths.Length == 0)
        {
            message.Append("; it has no controls registered.");
        }
        else
        {
            message.Append(". Its controls: ").Append(string.Join(", ", paths.Take(12))).Append(paths.Length > 12 ? ", ..." : string.Empty).Append('.');
        }

        message.Append(" Nothing was sent; ").Append(forceHint).Append('.');
        return message.ToString();
    }

    /// <summary>
    /// Reads <c>controller.json</c>. Returns <see langword="null"/> when it is missing, or (with
    /// <paramref name="problem"/> saying why) when it cannot be read or is not a JSON object.
    /// </summary>
    public static ControllerSnapshot? TryRead(string path, out string? problem)
    {
        problem = null;
        byte[] bytes;
        try
        {
            using var stream = new FileStream(NativeFile.OpenRead(path), FileAccess.Read, bufferSize: 1);
            if (stream.Length > MaxBytes)
            {
                problem = $"'{path}' is {stream.Length} bytes long, more than a controller file can be";
                return null;
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot read '{path}': {e.Message}";
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes, JsonFormat.DocumentOptions);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = $"'{path}' is not a JSON object";
                return null;
            }

            return FromJson(root.Clone());
        }
        catch (JsonException e)
        {
            problem = $"'{path}' is not valid JSON: {e.Message}";
            return null;
        }
    }

    /// <summary>A snapshot of a <c>controller.json</c> already parsed (as a dashboard serves it), which must be a JSON object.</summary>
    /// <param name="root">The file's object; kept, so it must outlive its document (a clone).</param>
    public static ControllerSnapshot FromJson(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
            ? new ControllerSnapshot(root, ReadControls(root))
            : throw new ArgumentException("A controller.json must be a JSON object.", nameof(root));

    private static List<ControlSnapshot> ReadControls(JsonElement root)
    {
        var controls = new List<ControlSnapshot>();
        if (!root.TryGetProperty(ControllerFields.Controls, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return controls;
        }

        foreach (var entry in array.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || String(entry, ControllerFields.ControlPath) is not { } path)
            {
                continue;
            }

            var parameters = new List<ControlParameter>();
            if (entry.TryGetProperty(ControllerFields.ControlParameters, out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var p in list.EnumerateArray())
                {
                    if (p.ValueKind == JsonValueKind.Object)
                    {
                        parameters.Add(new ControlParameter(
                            String(p, ControllerFields.ParameterName) ?? $"arg{parameters.Count}",
                            String(p, ControllerFields.ParameterType) ?? "any",
                            !p.TryGetProperty(ControllerFields.ParameterRequired, out var required) || required.ValueKind != JsonValueKind.False,
                            p.TryGetProperty(ControllerFields.ParameterKeyword, out var keyword) && keyword.ValueKind == JsonValueKind.True));
                    }
                }
            }

            JsonElement? value = entry.TryGetProperty(ControllerFields.ControlValue, out var v) ? v : null;
            controls.Add(new ControlSnapshot(path, parameters, String(entry, ControllerFields.ControlDescription), value, entry));
        }

        return controls;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double? Double(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) ? d : null;

    private static long? Int64(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var l) ? l : null;
}

/// <summary>When a trainer counts as polling (docs/queue-format.md, "controller.json").</summary>
internal static class Freshness
{
    /// <summary>The shortest window: a trainer that polls often is not called dead for one slow step.</summary>
    public static readonly TimeSpan MinimumWindow = TimeSpan.FromSeconds(5);

    /// <summary>Gets <c>max(3 × poll interval, 5 s)</c>.</summary>
    public static TimeSpan Window(double pollIntervalSeconds) =>
        double.IsFinite(pollIntervalSeconds) && pollIntervalSeconds * 3 > MinimumWindow.TotalSeconds
            ? TimeSpan.FromSeconds(Math.Min(pollIntervalSeconds * 3, TimeSpan.MaxValue.TotalSeconds / 2))
            : MinimumWindow;
}
