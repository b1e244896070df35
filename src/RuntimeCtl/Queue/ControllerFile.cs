using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// Writes <c>controller.json</c> (PROTOCOL §4): liveness, the registered controls with their current values, and
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
            writer.WriteNumber("format"u8, 1);
            writer.WriteNumber("pid"u8, Environment.ProcessId);
            writer.WriteString("host"u8, Environment.MachineName);
            writer.WritePropertyName("started_ts"u8);
            AckWriter.WriteTimestamp(writer, _started);
            writer.WritePropertyName("last_poll_ts"u8);
            AckWriter.WriteTimestamp(writer, _options.TimeProvider.GetUtcNow());
            writer.WriteNumber("poll_interval_s"u8, double.IsFinite(pollIntervalSeconds) ? pollIntervalSeconds : 0);
            writer.WritePropertyName("step"u8);
            if (step is { } s)
            {
                writer.WriteNumberValue(s);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteNumber("world_size"u8, _options.ProcessGroup.Size);
            writer.WriteNumber("max_line_bytes"u8, _options.MaxLineBytes);
            writer.WriteStartArray("controls"u8);
            foreach (var control in _controls.Values)
            {
                WriteControl(writer, control);
            }

            writer.WriteEndArray();
            writer.WriteNumber("commands_lines"u8, commandLines);
            writer.WriteNumber("commands_bytes"u8, commandBytes);
            writer.WriteNumber("acks_lines"u8, acks.Lines);
            writer.WriteNumber("acks_bytes"u8, acks.Length);
            if (stopped)
            {
                // A trainer that ended on purpose says so, so readers need not wait for the file to go stale.
                writer.WritePropertyName("stopped_ts"u8);
                AckWriter.WriteTimestamp(writer, _options.TimeProvider.GetUtcNow());
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
        writer.WriteString("path"u8, control.Path);
        writer.WriteStartArray("params"u8);
        foreach (var parameter in control.Parameters)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, parameter.Name);
            writer.WriteString("type"u8, parameter.Type);
            writer.WriteBoolean("required"u8, parameter.Required);
            if (parameter.Keyword)
            {
                writer.WriteBoolean("keyword"u8, true);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (control.Description is { } description)
        {
            writer.WriteString("description"u8, description);
        }

        if (control.SafeToRepeat)
        {
            writer.WriteBoolean("safe_to_repeat"u8, true); // applied again if a trainer is killed inside it
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

                writer.WritePropertyName("value"u8);
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
