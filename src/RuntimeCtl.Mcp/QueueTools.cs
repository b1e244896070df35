using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace RuntimeCtl.Mcp;

/// <summary>
/// The four tools over one queue directory: read <c>controller.json</c>, the queue files and <c>metrics.jsonl</c>;
/// send through the same checks, bytes and lock as the CLI, with <c>"source": "mcp"</c>. Every answer is one JSON
/// text; what the agent must act on (a refusal, a rejected command, a timeout) comes with <c>isError: true</c> and a
/// sentence saying what happened.
/// </summary>
internal sealed class QueueTools
{
    /// <summary>The <c>source</c> field of the commands an agent queues.</summary>
    public const string Source = "mcp";

    private readonly string _queueDirectory;
    private readonly string _acks;
    private readonly string _controller;
    private readonly AllowList _allow;
    private readonly bool _allowShared;
    private readonly TimeProvider _time;

    public QueueTools(ServerArguments arguments, TimeProvider time)
    {
        _queueDirectory = Path.GetFullPath(arguments.QueueDirectory);
        _acks = Path.Combine(_queueDirectory, QueueFiles.Acks);
        _controller = Path.Combine(_queueDirectory, QueueFiles.Controller);
        _allow = new AllowList(arguments.Allow);
        _allowShared = arguments.AllowShared;
        _time = time;
    }

    /// <summary>Runs the tool <paramref name="name"/>; an unknown tool is <see langword="null"/> (a protocol error, not a tool error).</summary>
    public async ValueTask<CallToolResult?> CallAsync(string name, IDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        var args = new ToolArguments(name, arguments);
        try
        {
            return name switch
            {
                ToolCatalog.ListControls => ListControls(args),
                ToolCatalog.SendCommand => await SendAsync(args, cancellationToken).ConfigureAwait(false),
                ToolCatalog.GetStatus => GetStatus(args),
                ToolCatalog.GetMetrics => GetMetrics(args),
                _ => null,
            };
        }
        catch (ToolArgumentException e)
        {
            return Error(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Error($"cannot read the queue directory '{_queueDirectory}': {e.Message}");
        }
    }

    private CallToolResult ListControls(ToolArguments args)
    {
        args.Only();
        var controller = ControllerSnapshot.TryRead(_controller, out var problem);
        var now = _time.GetUtcNow();
        var json = Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("queue_dir"u8, _queueDirectory);
            TrainerReport.Write(writer, controller, now);
            writer.WriteString("trainer_text"u8, TrainerReport.Describe(controller, now));
            writer.WriteStartArray("controls"u8);
            foreach (var control in controller?.Controls ?? [])
            {
                control.Json.WriteTo(writer);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("not_allowed"u8);
            foreach (var control in controller?.Controls ?? [])
            {
                if (!_allow.Allows(control.Path))
                {
                    writer.WriteStringValue(control.Path);
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
        if (controller is null)
        {
            return Error((problem is not null
                ? $"cannot read the controls: {problem}."
                : $"there is no controller.json in '{_queueDirectory}': no trainer has started on this queue yet (or it is one that does not list its controls, such as the original Python runtimectl).") + "\n" + json);
        }

        return Text(json);
    }

    private async Task<CallToolResult> SendAsync(ToolArguments args, CancellationToken cancellationToken)
    {
        args.Only("path", "args", "kwargs", "at_step", "timeout_s");
        var path = args.RequiredString("path");
        var positional = args.Array("args");
        var keywords = args.Object("kwargs");
        var atStep = args.Integer("at_step", 0, long.MaxValue);
        var timeout = TimeSpan.FromSeconds(args.Number("timeout_s", 0, ToolCatalog.MaxTimeoutSeconds) ?? ToolCatalog.DefaultTimeoutSeconds);

        if (!_allow.Allows(path))
        {
            return Error(_allow.Refusal(path));
        }

        var now = _time.GetUtcNow();
        var controller = ControllerSnapshot.TryRead(_controller, out _);
        if (controller?.UnknownPathRefusal(path, _queueDirectory, now, "call list_controls for the paths it has") is { } refusal)
        {
            return Error(refusal);
        }

        SentCommand sent;
        try
        {
            sent = CommandSender.Enqueue(_queueDirectory, path, positional, keywords, new EnqueueOptions { AtStep = atStep, AllowSharedQueue = _allowShared, Source = Source, TimeProvider = _time });
        }
        catch (Exception e) when (e is CommandRefusedException or QueueConfigurationException)
        {
            return Error(e.Message);
        }

        var ack = await new AckFollower(_acks, sent.Id, sent.AckOffset, sent.AlternateIds).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        var json = Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("status"u8, ack?.Status ?? "pending");
            writer.WritePropertyName("command"u8);
            writer.WriteRawValue(sent.Line, skipInputValidation: true);
            writer.WritePropertyName("ack"u8);
            JsonFormat.WriteRawOrNull(writer, ack?.Line);

            writer.WriteEndObject();
        });

        if (ack is null)
        {
            var trainer = ControllerSnapshot.TryRead(_controller, out _);
            var held = atStep is { } step ? $" It is held until step {step.ToString(CultureInfo.InvariantCulture)}." : string.Empty;
            return Error($"no ack within {TrainerReport.Duration(timeout.TotalSeconds)}: the command (id {sent.Id}) stays queued and the trainer applies it when it next polls; do not send it again, call get_status to see its ack.{held} Trainer: {TrainerReport.Describe(trainer, _time.GetUtcNow())}.\n{json}");
        }

        return ack.Status switch
        {
            "applied" => Text(json),
            "rejected" or "failed" => Error($"the trainer {ack.Status} the command: {ErrorOf(ack.Line) ?? "(no error given)"}.\n{json}"),
            _ => Error($"the ack has an unknown status '{ack.Status ?? "null"}'.\n{json}"),
        };
    }

    private CallToolResult GetStatus(ToolArguments args)
    {
        args.Only("last");
        var last = (int)(args.Integer("last", 0, ToolCatalog.MaxLastAcks) ?? 10);
        var status = QueueStatus.Read(_queueDirectory, last);
        var now = _time.GetUtcNow();
        return Text(Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("queue_dir"u8, _queueDirectory);
            TrainerReport.Write(writer, status.Controller, now);
            writer.WriteString("trainer_text"u8, TrainerReport.Describe(status.Controller, now));
            writer.WriteNumber("commands"u8, status.Commands.Lines);
            writer.WriteNumber("acks"u8, status.Acks.Lines);
            writer.WriteNumber("pending"u8, status.Pending);
            writer.WriteStartArray("last_acks"u8);
            foreach (var ack in status.Tail.Acks)
            {
                ack.WriteTo(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }));
    }

    private CallToolResult GetMetrics(ToolArguments args)
    {
        args.Only("name", "last");
        var name = args.String("name");
        var last = (int)(args.Integer("last", 1, ToolCatalog.MaxLastPoints) ?? 20);
        var series = MetricsReader.Read(_queueDirectory, null, long.MinValue);
        if (name is not null && !series.Any(s => s.Name == name))
        {
            var known = series.Count == 0 ? "it has reported none yet (metrics.jsonl is written by RuntimeController.Report)" : "it reports " + string.Join(", ", series.Select(s => s.Name));
            return Error($"the trainer has reported no metric '{name}': {known}.");
        }

        return Text(Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("metrics"u8);
            foreach (var (metric, points) in series)
            {
                if (name is not null && metric != name)
                {
                    continue;
                }

                writer.WriteStartObject();
                writer.WriteString("name"u8, metric);
                writer.WriteNumber("total"u8, points.Count);
                writer.WriteStartArray("points"u8);
                foreach (var point in points.Skip(Math.Max(0, points.Count - last)))
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("step"u8, point.Step);
                    writer.WriteNumber("value"u8, point.Value);
                    writer.WriteNumber("ts"u8, point.Ts);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }));
    }

    private static string? ErrorOf(string ackLine)
    {
        using var document = JsonDocument.Parse(ackLine);
        return document.RootElement.TryGetProperty("error"u8, out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null;
    }

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }], IsError = false };

    private static CallToolResult Error(string text) => new() { Content = [new TextContentBlock { Text = text }], IsError = true };

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonFormat.WriterOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
