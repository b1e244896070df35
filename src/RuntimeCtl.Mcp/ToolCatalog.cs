using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace RuntimeCtl.Mcp;

/// <summary>The tools the server offers, with their names and JSON input schemas (written out: no reflection, so it runs under Native AOT).</summary>
internal static class ToolCatalog
{
    public const string ListControls = "list_controls";
    public const string SendCommand = "send_command";
    public const string GetStatus = "get_status";
    public const string GetMetrics = "get_metrics";

    /// <summary>The longest <c>timeout_s</c> of <c>send_command</c>; longer waits are several calls of <c>get_status</c>.</summary>
    public const double MaxTimeoutSeconds = 60;

    /// <summary>The wait of <c>send_command</c> when <c>timeout_s</c> is not given.</summary>
    public const double DefaultTimeoutSeconds = 10;

    /// <summary>The most acks <c>get_status</c> returns.</summary>
    public const int MaxLastAcks = 100;

    /// <summary>The most points per metric <c>get_metrics</c> returns.</summary>
    public const int MaxLastPoints = 1000;

    /// <summary>The tools, in the order <c>tools/list</c> gives them.</summary>
    public static IList<Tool> Tools { get; } =
    [
        new Tool
        {
            Name = ListControls,
            Title = "List the job's controls",
            Description = "The controls the running training job registered (path, parameters with their types, description, current value), whether the trainer is alive and at which step, and which paths this server lets you send to.",
            InputSchema = Schema("""{"type":"object","properties":{},"additionalProperties":false}"""),
            Annotations = new ToolAnnotations { ReadOnlyHint = true, OpenWorldHint = false },
        },
        new Tool
        {
            Name = SendCommand,
            Title = "Send a command to the job",
            Description = "Queues one command for a control (e.g. path 'optimizer.lr.multiplier', args [0.5]) and waits for the trainer's ack, which says whether it was applied. The trainer applies commands at its next step boundary. A rejected or failed command, an unknown or disallowed path and a timeout are errors; after a timeout the command stays queued and will still be applied: do not send it again, check get_status.",
            InputSchema = Schema($$"""
                {"type":"object","properties":{
                  "path":{"type":"string","minLength":1,"description":"The control's path, as list_controls shows it."},
                  "args":{"type":"array","description":"Positional arguments as JSON values, in the order of the control's parameters (numbers as numbers, not strings)."},
                  "kwargs":{"type":"object","description":"Keyword arguments, e.g. {\"label\":\"before-lr-change\"}."},
                  "at_step":{"type":"integer","minimum":0,"description":"Hold the command until the trainer reaches this step (its first poll at or after it)."},
                  "timeout_s":{"type":"number","minimum":0,"maximum":{{MaxTimeoutSeconds}},"description":"How long to wait for the ack, in seconds. Default {{DefaultTimeoutSeconds}}."}
                },"required":["path"],"additionalProperties":false}
                """),
            Annotations = new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = false, OpenWorldHint = false },
        },
        new Tool
        {
            Name = GetStatus,
            Title = "Get the job's status",
            Description = "Whether the trainer is alive, its step, how many commands were sent, acked and are pending, and the last acks (what happened to each command).",
            InputSchema = Schema($$"""
                {"type":"object","properties":{
                  "last":{"type":"integer","minimum":0,"maximum":{{MaxLastAcks}},"description":"How many of the last acks to return. Default 10."}
                },"additionalProperties":false}
                """),
            Annotations = new ToolAnnotations { ReadOnlyHint = true, OpenWorldHint = false },
        },
        new Tool
        {
            Name = GetMetrics,
            Title = "Get the job's metrics",
            Description = "The most recent points of the metrics the trainer reports (loss, lr, val_loss, ...), each as step, value and Unix time, oldest first: the curve you are steering.",
            InputSchema = Schema($$"""
                {"type":"object","properties":{
                  "name":{"type":"string","minLength":1,"description":"Only this metric. Default: every metric."},
                  "last":{"type":"integer","minimum":1,"maximum":{{MaxLastPoints}},"description":"How many of the last points of each metric to return. Default 20."}
                },"additionalProperties":false}
                """),
            Annotations = new ToolAnnotations { ReadOnlyHint = true, OpenWorldHint = false },
        },
    ];

    private static JsonElement Schema(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
