using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl status [--last N] [--json]</c>: the original's JSON object (<c>queue_dir</c>, <c>commands</c>,
/// <c>acks</c>, <c>last_acks</c>, then our extension keys) when piped, a summary on a terminal.
/// </summary>
internal static class StatusCommand
{
    public static int Run(StatusRequest request, CliContext context)
    {
        if (request.Remote is { } endpoint)
        {
            using var remote = context.Connect(endpoint);
            var read = remote.ReadStatus(request.Last);
            if (!read.Exists)
            {
                context.Note(CliGrammar.NoQueueDirectory(read.QueueDirectory, $"the -q of 'runtimectl serve' on the dashboard's machine ({endpoint.Label})"));
                return ExitCodes.Error;
            }

            Show(request, read.QueueDirectory, read.QueueDirectory, read.Status, read.Now, context);
            return ExitCodes.Success;
        }

        if (!Directory.Exists(request.QueueDirectory))
        {
            context.Note(CliGrammar.NoQueueDirectory(request.QueueDirectory));
            return ExitCodes.Error;
        }

        QueueStatus status;
        try
        {
            status = QueueStatus.Read(request.QueueDirectory, request.Last);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Note($"cannot read the queue directory '{request.QueueDirectory}': {e.Message}");
            return ExitCodes.Error;
        }

        if (QueueFiles.ForeignOwnerWarning(request.QueueDirectory) is { } foreign)
        {
            context.Note(foreign + ".");
        }

        if (!request.AllowNetworkFileSystem && QueueFiles.NetworkFileSystemWarning(request.QueueDirectory, "Pass --allow-network-fs") is { } network)
        {
            context.Note(network);
        }

        Show(request, request.QueueDirectory, Path.GetFullPath(request.QueueDirectory), status, context.Time.GetUtcNow(), context);
        return ExitCodes.Success;
    }

    /// <summary>The notes, then the report: JSON when piped (or asked for), a summary on a terminal.</summary>
    private static void Show(StatusRequest request, string queueLabel, string fullPath, QueueStatus status, DateTimeOffset now, CliContext context)
    {
        if (status.ControllerProblem is { } problem)
        {
            context.Note($"ignoring controller.json: {problem}.");
        }

        if (status.Tail.BadLines > 0)
        {
            context.Note($"skipped {status.Tail.BadLines} corrupt line{(status.Tail.BadLines == 1 ? string.Empty : "s")} among the last lines of acks.jsonl ({status.Tail.FirstProblem}).");
        }

        if (request.Json || !context.StdoutIsTerminal)
        {
            WriteJson(queueLabel, status, now, context.Stdout);
        }
        else
        {
            WriteSummary(request, fullPath, status, now, context.Stdout);
        }
    }

    private static void WriteJson(string queueLabel, QueueStatus status, DateTimeOffset now, TextWriter output) =>
        JsonOutput.WriteLine(output, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("queue_dir"u8, queueLabel);
            StatusCommand.WriteCounts(writer, status);
            writer.WriteNumber("pending"u8, status.Pending);
            writer.WriteNumber("bad_ack_lines"u8, status.Tail.BadLines);
            TrainerReport.Write(writer, status.Controller, now);
            writer.WriteEndObject();
        });

    /// <summary>The original's keys after <c>queue_dir</c>: <c>commands</c>, <c>acks</c>, <c>last_acks</c> (as written), as status and the dashboard's <c>/api/status</c> give them.</summary>
    public static void WriteCounts(Utf8JsonWriter writer, QueueStatus status)
    {
        writer.WriteNumber("commands"u8, status.Commands.Lines);
        writer.WriteNumber("acks"u8, status.Acks.Lines);
        writer.WriteStartArray("last_acks"u8);
        foreach (var ack in status.Tail.Acks)
        {
            ack.WriteTo(writer);
        }

        writer.WriteEndArray();
    }

    private static void WriteSummary(StatusRequest request, string fullPath, QueueStatus status, DateTimeOffset now, TextWriter output)
    {
        output.WriteLine($"Queue     {fullPath}");
        output.WriteLine($"Trainer   {TrainerReport.Describe(status.Controller, now)}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Commands  {status.Commands.Lines} sent, {status.Acks.Lines} acked, {status.Pending} pending"));
        if (request.Last == 0)
        {
            return;
        }

        output.WriteLine();
        var acks = status.Tail.Acks;
        if (acks.Count == 0)
        {
            output.WriteLine("No acks yet.");
            return;
        }

        output.WriteLine(acks.Count == 1 ? "Last ack:" : $"Last {acks.Count} acks:");
        var withStep = acks.Any(a => a.TryGetProperty("step"u8, out _));
        var table = withStep
            ? new TextTable(("TIME", 0), ("STEP", 12), ("STATUS", 0), ("PATH", 40), ("ARGS / ERROR", 80))
            : new TextTable(("TIME", 0), ("STATUS", 0), ("PATH", 40), ("ARGS / ERROR", 80));
        foreach (var ack in acks)
        {
            var time = Time(ack, now);
            var step = ack.TryGetProperty("step"u8, out var s) ? JsonOutput.ToText(s) : string.Empty;
            var outcome = Text(ack, "status") ?? "?";
            var path = Text(ack, "path") ?? "null";
            if (withStep)
            {
                table.Add(time, step, outcome, path, Detail(ack));
            }
            else
            {
                table.Add(time, outcome, path, Detail(ack));
            }
        }

        table.WriteTo(output, "  ");
    }

    private static string Detail(JsonElement ack)
    {
        if (Text(ack, "error") is { } error)
        {
            return error;
        }

        var detail = ack.TryGetProperty("args"u8, out var args) ? JsonOutput.ToText(args) : string.Empty;
        if (ack.TryGetProperty("kwargs"u8, out var kwargs) && kwargs.ValueKind == JsonValueKind.Object && kwargs.EnumerateObject().Any())
        {
            detail += " " + JsonOutput.ToText(kwargs);
        }

        return detail;
    }

    private static string Time(JsonElement ack, DateTimeOffset now)
    {
        if (!ack.TryGetProperty("ts"u8, out var ts) || !ts.TryGetDouble(out var seconds) || JsonFormat.FromUnixSeconds(seconds) is not { } time)
        {
            return "?";
        }

        var local = TimeZoneInfo.ConvertTime(time, TimeZoneInfo.Local);
        var today = TimeZoneInfo.ConvertTime(now, TimeZoneInfo.Local).Date;
        return local.ToString(local.Date == today ? "HH:mm:ss" : "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
    }

    private static string? Text(JsonElement ack, string name) =>
        !ack.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : JsonOutput.ToText(value);
}
