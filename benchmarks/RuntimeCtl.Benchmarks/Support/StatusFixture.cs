using System.Text.Encodings.Web;
using System.Text.Json;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// Writes a queue directory as a trainer leaves it after <c>n</c> commands of <c>model.dropout.p 0.5</c>:
/// <c>commands.jsonl</c> with n command lines, <c>acks.jsonl</c> with their n applied acks, and a
/// <c>controller.json</c> that carries the line counts. The files follow docs/queue-format.md (the public contract),
/// not the core's internal writers, so that the fixture does not break when those change.
/// </summary>
public static class StatusFixture
{
    private const int Batch = 10_000;
    private const string ControlPath = "model.dropout.p";
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(string directory, int count)
    {
        var queue = new QueueDirectory(directory);
        queue.EnsureCreated(allowShared: false);
        var lines = new CommandLines(ControlPath, [0.5]);
        using (var commands = new FileStream(queue.Commands, FileMode.Truncate, FileAccess.Write))
        {
            for (var done = 0; done < count; done += Batch)
            {
                commands.Write(lines.Block(Math.Min(Batch, count - done)));
            }
        }

        var ts = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalSeconds;
        using (var acks = new FileStream(queue.Acks, FileMode.Truncate, FileAccess.Write, FileShare.Read, 1 << 16))
        using (var writer = new Utf8JsonWriter(acks, Compact))
        {
            for (var i = 0; i < count; i++)
            {
                // {"id":…,"ts":…,"path":…,"op":"set","status":"applied","args":[0.5],"kwargs":{},"step":i}
                writer.Reset();
                writer.WriteStartObject();
                writer.WriteString("id"u8, Guid.NewGuid().ToString("D"));
                writer.WriteNumber("ts"u8, ts);
                writer.WriteString("path"u8, ControlPath);
                writer.WriteString("op"u8, "set");
                writer.WriteString("status"u8, "applied");
                writer.WriteStartArray("args"u8);
                writer.WriteNumberValue(0.5);
                writer.WriteEndArray();
                writer.WriteStartObject("kwargs"u8);
                writer.WriteEndObject();
                writer.WriteNumber("step"u8, i);
                writer.WriteEndObject();
                writer.Flush();
                acks.WriteByte((byte)'\n');
            }
        }

        WriteController(queue, count, ts);
    }

    private static void WriteController(QueueDirectory queue, int count, double ts)
    {
        using var stream = new FileStream(queue.Controller, FileMode.Create, FileAccess.Write);
        using var writer = new Utf8JsonWriter(stream, Compact);
        writer.WriteStartObject();
        writer.WriteNumber("format"u8, 1);
        writer.WriteNumber("pid"u8, Environment.ProcessId);
        writer.WriteString("host"u8, Environment.MachineName);
        writer.WriteNumber("started_ts"u8, ts);
        writer.WriteNumber("last_poll_ts"u8, ts);
        writer.WriteNumber("poll_interval_s"u8, 2.0);
        writer.WriteNumber("step"u8, count);
        writer.WriteNumber("world_size"u8, 1);
        writer.WriteStartArray("controls"u8);
        writer.WriteStartObject();
        writer.WriteString("path"u8, ControlPath);
        writer.WriteStartArray("params"u8);
        writer.WriteStartObject();
        writer.WriteString("name"u8, "p");
        writer.WriteString("type"u8, "number");
        writer.WriteBoolean("required"u8, true);
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteString("description"u8, "Set the dropout probability, 0 <= p < 1.");
        writer.WriteNumber("value"u8, 0.5);
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteNumber("commands_lines"u8, count);
        writer.WriteNumber("commands_bytes"u8, new FileInfo(queue.Commands).Length);
        writer.WriteNumber("acks_lines"u8, count);
        writer.WriteNumber("acks_bytes"u8, new FileInfo(queue.Acks).Length);
        writer.WriteEndObject();
    }
}
