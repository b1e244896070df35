using System.Text.Json;
using RuntimeCtl.Mcp.Tests.Support;

namespace RuntimeCtl.Mcp.Tests;

/// <summary>An agent's session against the main job: list, steer the learning rate, watch it in the metrics, then stop it (allowed by name).</summary>
public sealed class McpTorchSharpTrainingTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly TrainerProcess _job = TrainerProcess.TorchSharpTraining("--step-delay-ms", "5", "--log-every", "50", "--eval-every", "20", "--threads", "1");

    public void Dispose() => _job.Dispose();

    [Fact]
    public async Task Session_ListSendReadStop_SteersTheRunningJob()
    {
        await using var session = await ServerSession.StartAsync(_job.Dir, "--allow", "optimizer.*", "--allow", "train.stop");

        // List: the job's controls, and which of them this server refuses.
        var controls = await session.CallAsync("list_controls");
        Assert.False(controls.IsError, controls.ToString());
        var paths = controls.Json.GetProperty("controls").EnumerateArray().Select(c => c.GetProperty("path").GetString()).ToArray();
        Assert.Contains("optimizer.lr", paths);
        Assert.Contains("load_ckpt", controls.Json.GetProperty("not_allowed").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("model.dropout.p", controls.Json.GetProperty("not_allowed").EnumerateArray().Select(e => e.GetString()));

        // Send: the learning rate, applied at a step the ack names.
        var lr = await session.CallAsync("send_command", new() { ["path"] = "optimizer.lr", ["args"] = new[] { 0.0005 }, ["timeout_s"] = 60 });
        Assert.False(lr.IsError, lr.ToString());
        var appliedAt = lr.Json.GetProperty("ack").GetProperty("step").GetInt64();

        // Read: the lr the trainer reports moves to the new value at that step; the loss is there to watch.
        var deadline = DateTime.UtcNow + Patience;
        JsonElement[] points = [];
        do
        {
            // The trainer writes metrics.jsonl in batches: until the first one, the metric is not there yet.
            var metrics = await session.CallAsync("get_metrics", new() { ["name"] = "lr", ["last"] = 5 });
            Assert.True(!metrics.IsError || metrics.Text.Contains("reported none yet", StringComparison.Ordinal), metrics.ToString());
            points = metrics.IsError ? [] : metrics.Json.GetProperty("metrics")[0].GetProperty("points").EnumerateArray().ToArray();
        }
        // The step the ack names may have reported its lr before the poll that applied the command: look one after it.
        while ((points.Length == 0 || points[^1].GetProperty("step").GetInt64() <= appliedAt) && DateTime.UtcNow < deadline && await Delay());

        Assert.Equal(0.0005, points[^1].GetProperty("value").GetDouble(), 12);
        var loss = await session.CallAsync("get_metrics", new() { ["name"] = "loss", ["last"] = 1 });
        Assert.True(double.IsFinite(loss.Json.GetProperty("metrics")[0].GetProperty("points")[0].GetProperty("value").GetDouble()), loss.ToString());
        var status = await session.CallAsync("get_status", new() { ["last"] = 1 });
        Assert.True(status.Json.GetProperty("trainer").GetProperty("alive").GetBoolean(), status.ToString());
        Assert.Equal(lr.Json.GetProperty("command").GetProperty("id").GetString(), status.Json.GetProperty("last_acks")[0].GetProperty("id").GetString());

        // Not allowed: a rewind, refused before anything is queued.
        var rewind = await session.CallAsync("send_command", new() { ["path"] = "load_ckpt", ["kwargs"] = new Dictionary<string, object?> { ["step"] = 1 } });
        Assert.True(rewind.IsError, rewind.ToString());
        Assert.Single(_job.Queue.CommandLines());

        // Stop, allowed by name: the job ends cleanly at the acked step.
        var stop = await session.CallAsync("send_command", new() { ["path"] = "train.stop", ["timeout_s"] = 60 });
        Assert.False(stop.IsError, stop.ToString());
        Assert.Equal(0, _job.WaitForExit(Patience));
        Assert.Contains("\"stopped_by_command\":true", _job.Output, StringComparison.Ordinal);
        Assert.All(_job.Queue.CommandLines(), line => Assert.Contains("\"source\":\"mcp\"", line, StringComparison.Ordinal));
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }
}
