using System.Text.Json;

namespace RuntimeCtl.Cli;

/// <summary>
/// <c>runtimectl history [--json] [--status S]</c>: every command of the queue in file order with its outcome, as
/// JSON lines when piped (one object a command: line, id, ts, path, args, kwargs, at_step, status, step, error and
/// where it came from), a table on a terminal. Streams: nothing but an index of the acks is held.
/// </summary>
internal static class HistoryCommand
{
    public static int Run(HistoryRequest request, CliContext context)
    {
        if (request.Remote is { } endpoint)
        {
            using var remote = context.Connect(endpoint);
            using var lines = remote.OpenHistory(request.Status);
            var remoteJson = request.Json || !context.StdoutIsTerminal;
            if (!remoteJson)
            {
                context.Stdout.WriteLine(Row("LINE", "STATUS", "STEP", "PATH", "ARGS", "ERROR"));
            }

            while (lines.ReadLine() is { } line)
            {
                context.Stdout.WriteLine(remoteJson ? line : Row(line));
            }

            context.Stdout.Flush();
            return ExitCodes.Success;
        }

        if (!Directory.Exists(request.QueueDirectory))
        {
            context.Note(CliGrammar.NoQueueDirectory(request.QueueDirectory));
            return ExitCodes.Error;
        }

        if (QueueFiles.ForeignOwnerWarning(request.QueueDirectory) is { } foreign)
        {
            context.Note(foreign + ".");
        }

        var json = request.Json || !context.StdoutIsTerminal;
        if (!json)
        {
            context.Stdout.WriteLine(Row("LINE", "STATUS", "STEP", "PATH", "ARGS", "ERROR"));
        }

        try
        {
            foreach (var entry in CommandHistory.Read(request.QueueDirectory))
            {
                if (request.Status is { } wanted && entry.Status != wanted)
                {
                    continue;
                }

                var line = Json(entry);
                context.Stdout.WriteLine(json ? line : Row(line));
            }

            context.Stdout.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Note($"cannot read the queue directory '{request.QueueDirectory}': {e.Message}");
            return ExitCodes.Error;
        }

        return ExitCodes.Success;
    }

    /// <summary>One history entry as a JSON object on one line.</summary>
    public static string Json(HistoryEntry entry) => JsonOutput.Line(writer =>
    {
        writer.WriteStartObject();
        writer.WriteNumber("line"u8, entry.Line);
        writer.WriteString("id"u8, entry.Id);
        Copy(writer, "ts", entry.Field("ts"));
        if (entry.Invalid is not null)
        {
            writer.WriteString("path"u8, string.Empty);
            writer.WriteString("op"u8, "invalid");
        }
        else
        {
            Copy(writer, "path", entry.Field("path"));
            Copy(writer, "args", entry.Field("args") ?? Empty("[]"));
            Copy(writer, "kwargs", entry.Field("kwargs") ?? Empty("{}"));
            if (entry.Field("at_step") is { } atStep)
            {
                Copy(writer, "at_step", atStep);
            }
        }

        writer.WriteString("status"u8, entry.Status);
        if (entry.Step is { } step)
        {
            writer.WriteNumber("step"u8, step);
        }
        else
        {
            writer.WriteNull("step"u8);
        }

        if ((entry.Error ?? entry.Invalid) is { } error)
        {
            writer.WriteString("error"u8, error);
        }

        foreach (var name in (string[])["source", "replay_of"])
        {
            if (entry.Field(name) is { } value)
            {
                Copy(writer, name, value);
            }
        }

        writer.WriteEndObject();
    });

    private static void Copy(Utf8JsonWriter writer, string name, JsonElement? value)
    {
        writer.WritePropertyName(name);
        if (value is { } v)
        {
            v.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    private static JsonElement Empty(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>One history line (<see cref="Json"/>'s, here or from a dashboard) as a table row.</summary>
    private static string Row(string json)
    {
        using var document = JsonDocument.Parse(json);
        var entry = document.RootElement;
        var invalid = Field(entry, "op") is { ValueKind: JsonValueKind.String } op && op.GetString() == "invalid";
        var path = invalid ? "(invalid line)" : Field(entry, "path") is { ValueKind: JsonValueKind.String } p ? p.GetString()! : Field(entry, "path")?.GetRawText() ?? "(none)";
        var args = invalid ? string.Empty : string.Join(' ', (string[])[Field(entry, "args")?.GetRawText() ?? string.Empty, Field(entry, "kwargs")?.GetRawText() ?? string.Empty]).Trim();
        var step = Field(entry, "step") is { ValueKind: JsonValueKind.Number } s ? s.GetRawText() : Field(entry, "at_step") is { } at ? "@" + at.GetRawText() : "-";
        var line = Field(entry, "line")?.GetRawText() ?? "?";
        var status = Field(entry, "status") is { ValueKind: JsonValueKind.String } st ? st.GetString()! : "?";
        var error = Field(entry, "error") is { ValueKind: JsonValueKind.String } e ? e.GetString()! : string.Empty;
        return Row(line, status, step, path, args, error);
    }

    private static JsonElement? Field(JsonElement entry, string name) => entry.TryGetProperty(name, out var value) ? value : null;

    private static string Row(string line, string status, string step, string path, string args, string error) =>
        $"{Cut(line, 7),-7} {Cut(status, 8),-8} {Cut(step, 9),-9} {Cut(path, 28),-28} {Cut(args, 30),-30} {Cut(error, 60)}".TrimEnd();

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";
}
