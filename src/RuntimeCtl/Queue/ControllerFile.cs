using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// The keys of <c>controller.json</c> (docs/queue-format.md, "controller.json"): written by <see cref="ControllerFile{TContext}"/>,
/// read by <see cref="ControllerSnapshot"/>, one spelling for both.
/// </summary>
internal static class ControllerFields
{
    /// <summary>The file format's version (1).</summary>
    public const string Format = "format";

    /// <summary>The trainer's process id.</summary>
    public const string Pid = "pid";

    /// <summary>The trainer's host name.</summary>
    public const string Host = "host";

    /// <summary>When the controller was configured, in seconds since the Unix epoch.</summary>
    public const string StartedTs = "started_ts";

    /// <summary>When the trainer last polled.</summary>
    public const string LastPollTs = "last_poll_ts";

    /// <summary>The poll interval in seconds (configured, or measured when polling by step).</summary>
    public const string PollIntervalSeconds = "poll_interval_s";

    /// <summary>The step of the last poll, or null when polling by time.</summary>
    public const string Step = "step";

    /// <summary>The number of ranks.</summary>
    public const string WorldSize = "world_size";

    /// <summary>The longest command line the trainer accepts.</summary>
    public const string MaxLineBytes = "max_line_bytes";

    /// <summary>The registered controls, an array of objects.</summary>
    public const string Controls = "controls";

    /// <summary>The number of lines of commands.jsonl before commands_bytes.</summary>
    public const string CommandsLines = "commands_lines";

    /// <summary>The offset of commands.jsonl the trainer has read up to.</summary>
    public const string CommandsBytes = "commands_bytes";

    /// <summary>The number of lines of acks.jsonl before acks_bytes.</summary>
    public const string AcksLines = "acks_lines";

    /// <summary>The length of acks.jsonl after the trainer's last write.</summary>
    public const string AcksBytes = "acks_bytes";

    /// <summary>When the controller was disposed (only in the file of a trainer that stopped).</summary>
    public const string StoppedTs = "stopped_ts";

    /// <summary>A control's path.</summary>
    public const string ControlPath = "path";

    /// <summary>A control's parameters, an array of objects.</summary>
    public const string ControlParameters = "params";

    /// <summary>A control's description.</summary>
    public const string ControlDescription = "description";

    /// <summary>Whether a control is applied again when a trainer was killed inside it (only when true).</summary>
    public const string ControlSafeToRepeat = "safe_to_repeat";

    /// <summary>A control's current value.</summary>
    public const string ControlValue = "value";

    /// <summary>A parameter's name.</summary>
    public const string ParameterName = "name";

    /// <summary>A parameter's type.</summary>
    public const string ParameterType = "type";

    /// <summary>Whether a parameter is required.</summary>
    public const string ParameterRequired = "required";

    /// <summary>Whether a parameter is a keyword argument (only when true).</summary>
    public const string ParameterKeyword = "keyword";
}

/// <summary>
/// Writes <c>controller.json</c> (docs/queue-format.md, "controller.json"): liveness, the registered controls with their current values, and
/// the line counts of the two queue files so that <c>runtimectl status</c> need not count them.
/// </summary>
internal sealed class ControllerFile<TContext>
{
    private readonly QueueDirectory _queue;
    private readonly RuntimeControllerOptions _options;
    private readonly Dictionary<string, Control<TContext>> _controls;
    private readonly DateTimeOffset _started;
    private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(4096);
    private bool _failureReported;
    private RuntimeDiagnostic? _backgroundFailure; // found by a write on the thread pool, reported by the next Write
    private Task _pending = Task.CompletedTask;

    public ControllerFile(QueueDirectory queue, RuntimeControllerOptions options, Dictionary<string, Control<TContext>> controls)
    {
        _queue = queue;
        _options = options;
        _controls = controls;
        _started = options.TimeProvider.GetUtcNow();
    }

    /// <summary>
    /// Snapshots the state on the calling (training) thread, since the controls' getters read the loop's state,
    /// then replaces the file on the thread pool so the loop never waits for the file system. A snapshot taken
    /// while the previous one is still being written is dropped (the next one follows within a second);
    /// <paramref name="synchronous"/> writes at once (start and stop).
    /// </summary>
    public void Write(long? step, double pollIntervalSeconds, AckWriter acks, long commandLines, long commandBytes, Action<RuntimeDiagnostic> report, bool stopped = false, bool synchronous = false)
    {
        if (Interlocked.Exchange(ref _backgroundFailure, null) is { } failure)
        {
            report(failure); // on the training thread, as OnDiagnostic promises
        }

        if (!_pending.IsCompleted)
        {
            if (!synchronous)
            {
                return;
            }

            _pending.Wait();
        }

        _buffer.Clear();
        using (var writer = new Utf8JsonWriter(_buffer, JsonFormat.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber(ControllerFields.Format, 1);
            writer.WriteNumber(ControllerFields.Pid, Environment.ProcessId);
            writer.WriteString(ControllerFields.Host, Environment.MachineName);
            writer.WritePropertyName(ControllerFields.StartedTs);
            JsonFormat.WriteTimestamp(writer, _started);
            writer.WritePropertyName(ControllerFields.LastPollTs);
            JsonFormat.WriteTimestamp(writer, _options.TimeProvider.GetUtcNow());
            writer.WriteNumber(ControllerFields.PollIntervalSeconds, double.IsFinite(pollIntervalSeconds) ? pollIntervalSeconds : 0);
            writer.WritePropertyName(ControllerFields.Step);
            if (step is { } s)
            {
                writer.WriteNumberValue(s);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteNumber(ControllerFields.WorldSize, _options.ProcessGroup.Size);
            writer.WriteNumber(ControllerFields.MaxLineBytes, _options.MaxLineBytes);
            writer.WriteStartArray(ControllerFields.Controls);
            foreach (var control in _controls.Values)
            {
                WriteControl(writer, control);
            }

            writer.WriteEndArray();
            writer.WriteNumber(ControllerFields.CommandsLines, commandLines);
            writer.WriteNumber(ControllerFields.CommandsBytes, commandBytes);
            writer.WriteNumber(ControllerFields.AcksLines, acks.Lines);
            writer.WriteNumber(ControllerFields.AcksBytes, acks.Length);
            if (stopped)
            {
                // A trainer that ended on purpose says so, so readers need not wait for the file to go stale.
                writer.WritePropertyName(ControllerFields.StoppedTs);
                JsonFormat.WriteTimestamp(writer, _options.TimeProvider.GetUtcNow());
            }

            writer.WriteEndObject();
        }

        var bytes = _buffer.WrittenSpan.ToArray();
        if (synchronous)
        {
            if (Interlocked.Exchange(ref _backgroundFailure, null) is { } late)
            {
                report(late); // the write waited for above failed
            }

            Replace(bytes, report);
        }
        else
        {
            _pending = Task.Run(() => Replace(bytes, diagnostic => Volatile.Write(ref _backgroundFailure, diagnostic)));
        }
    }

    private void Replace(byte[] bytes, Action<RuntimeDiagnostic> report)
    {
        try
        {
            _queue.Replace(QueueDirectory.ControllerFile, bytes);
            _failureReported = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!_failureReported)
            {
                _failureReported = true;
                report(new RuntimeDiagnostic("controller-file-failed", $"Could not write '{_queue.Controller}': {e.Message}. Readers will call this trainer not polling until it can be written again.", e));
            }
        }
    }

    private static void WriteControl(Utf8JsonWriter writer, Control<TContext> control)
    {
        writer.WriteStartObject();
        writer.WriteString(ControllerFields.ControlPath, control.Path);
        writer.WriteStartArray(ControllerFields.ControlParameters);
        foreach (var parameter in control.Parameters)
        {
            writer.WriteStartObject();
            writer.WriteString(ControllerFields.ParameterName, parameter.Name);
            writer.WriteString(ControllerFields.ParameterType, parameter.Type);
            writer.WriteBoolean(ControllerFields.ParameterRequired, parameter.Required);
            if (parameter.Keyword)
            {
                writer.WriteBoolean(ControllerFields.ParameterKeyword, true);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (control.Description is { } description)
        {
            writer.WriteString(ControllerFields.ControlDescription, description);
        }

        if (control.SafeToRepeat)
        {
            writer.WriteBoolean(ControllerFields.ControlSafeToRepeat, true); // applied again if a trainer is killed inside it
        }

        if (control.GetValue is { } getValue)
        {
            object? value;
            try
            {
                value = getValue();
            }
            catch (Exception)
            {
                // A getter that throws only loses its value in the file; the loop goes on.
                writer.WriteEndObject();
                return;
            }

            var probe = new System.Buffers.ArrayBufferWriter<byte>();
            try
            {
                using (var inner = new Utf8JsonWriter(probe, JsonFormat.WriterOptions))
                {
                    JsonValues.Write(inner, value);
                }

                writer.WritePropertyName(ControllerFields.ControlValue);
                writer.WriteRawValue(probe.WrittenSpan, skipInputValidation: true);
            }
            catch (ArgumentException)
            {
                // NaN, infinity or a type JSON cannot hold: leave the value out rather than write a broken file.
            }
        }

        writer.WriteEndObject();
    }
}
