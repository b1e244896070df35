using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>The trainer as every reader of the project reports it (the CLI, the dashboard, the MCP server): as JSON and as one line for a person.</summary>
public static class TrainerReport
{
    /// <summary>Writes the trainer as <c>status</c> and <c>controls</c> report it, or <c>null</c> without a <c>controller.json</c>.</summary>
    public static void Write(Utf8JsonWriter writer, ControllerSnapshot? controller, DateTimeOffset now)
    {
        writer.WritePropertyName("trainer"u8);
        if (controller is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartObject();
        writer.WriteBoolean("alive"u8, controller.IsFresh(now));
        foreach (var name in (ReadOnlySpan<string>)[ControllerFields.Pid, ControllerFields.Host, ControllerFields.Step, ControllerFields.WorldSize, ControllerFields.StartedTs, ControllerFields.LastPollTs])
        {
            if (controller.Json.TryGetProperty(name, out var value))
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }
        }

        writer.WritePropertyName("last_poll_age_s"u8);
        if (controller.LastPollAgeSeconds(now) is { } age)
        {
            writer.WriteNumberValue(Math.Round(age, 3));
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteNumber(ControllerFields.PollIntervalSeconds, controller.PollIntervalSeconds);
        writer.WriteNumber("fresh_window_s"u8, controller.FreshnessWindow.TotalSeconds);
        writer.WriteEndObject();
    }

    /// <summary>The trainer in one line for a person: polling or not, pid, host, step, last poll.</summary>
    public static string Describe(ControllerSnapshot? controller, DateTimeOffset now)
    {
        if (controller is null)
        {
            return "unknown: no controller.json (not started yet, or a trainer that does not write one, such as the original Python runtimectl)";
        }

        var who = new StringBuilder();
        if (controller.Pid is { } pid)
        {
            who.Append(CultureInfo.InvariantCulture, $"pid {pid}");
        }

        if (controller.Host is { } host)
        {
            who.Append(who.Length > 0 ? " on " : "on ").Append(host);
        }

        if (controller.Step is { } step)
        {
            who.Append(who.Length > 0 ? ", " : string.Empty).Append(CultureInfo.InvariantCulture, $"step {step}");
        }

        if (controller.WorldSize is > 1 and var size)
        {
            who.Append(who.Length > 0 ? ", " : string.Empty).Append(CultureInfo.InvariantCulture, $"{size} ranks");
        }

        var age = controller.LastPollAgeSeconds(now);
        if (controller.LastPollInTheFuture(now))
        {
            return $"NOT POLLING: its last poll is dated {Duration(-age!.Value)} in the future, so the clock of this machine or of the trainer's looks wrong (or the file was not written by a trainer){(who.Length > 0 ? $"; says {who}" : string.Empty)}";
        }

        var last = age is { } a ? $"last poll {Duration(Math.Max(0, a))} ago" : "last poll unknown";
        var interval = controller.PollIntervalSeconds > 0 ? $", every {Duration(controller.PollIntervalSeconds)}" : string.Empty;
        return controller.IsFresh(now)
            ? $"polling ({who}{(who.Length > 0 ? ", " : string.Empty)}{last}{interval})"
            : $"NOT POLLING: {last} (more than {Duration(controller.FreshnessWindow.TotalSeconds)}){(who.Length > 0 ? $"; was {who}" : string.Empty)}";
    }

    /// <summary>A duration for a person: <c>0.05 s</c>, <c>0.8 s</c>, <c>42 s</c>, <c>5 min</c>, <c>3.2 h</c>, <c>2.0 d</c>.</summary>
    public static string Duration(double seconds) => seconds switch
    {
        < 1 => seconds.ToString("0.0##", CultureInfo.InvariantCulture) + " s",
        < 10 => seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
        < 120 => seconds.ToString("0", CultureInfo.InvariantCulture) + " s",
        < 7200 => (seconds / 60).ToString("0", CultureInfo.InvariantCulture) + " min",
        < 172800 => (seconds / 3600).ToString("0.0", CultureInfo.InvariantCulture) + " h",
        _ => (seconds / 86400).ToString("0.0", CultureInfo.InvariantCulture) + " d",
    };
}
