using System.Text.Json;
using ModelContextProtocol;
using RuntimeCtl.Mcp.Tests.Support;

namespace RuntimeCtl.Mcp.Tests;

/// <summary>The MCP server as a client sees it: the SDK's client, over stdio, to a real <c>runtimectl mcp</c> process, against a real QuickStart.</summary>
public sealed class McpServerTests : IDisposable
{
    private readonly TrainerProcess _trainer = TrainerProcess.QuickStart();

    public void Dispose() => _trainer.Dispose();

    [Fact]
    public async Task Initialize_ReportsTheServerAndItsToolsCapability()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        Assert.Equal("runtimectl", session.Client.ServerInfo?.Name);
        Assert.NotNull(session.Client.ServerCapabilities.Tools);
        Assert.Contains("list_controls", session.Client.ServerInstructions, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolsList_GivesTheFourToolsWithTheirSchemas()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var tools = (await session.Client.ListToolsAsync()).ToDictionary(t => t.Name, t => t.ProtocolTool.InputSchema);

        Assert.Equal(["get_metrics", "get_status", "list_controls", "send_command"], tools.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["path", "args", "kwargs", "at_step", "timeout_s"], Properties(tools["send_command"]));
        Assert.Equal(["path"], tools["send_command"].GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["name", "last"], Properties(tools["get_metrics"]));
        Assert.Equal(["last"], Properties(tools["get_status"]));
        Assert.Empty(Properties(tools["list_controls"]));
        Assert.All(tools.Values, schema => Assert.False(schema.GetProperty("additionalProperties").GetBoolean()));
    }

    [Fact]
    public async Task ListControls_RunningTrainer_GivesControlsLivenessAndWhatIsNotAllowed()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir, "--allow", "optimizer.*");

        var reply = await session.CallAsync("list_controls");

        Assert.False(reply.IsError, reply.ToString());
        var json = reply.Json;
        Assert.True(json.GetProperty("trainer").GetProperty("alive").GetBoolean());
        var lr = json.GetProperty("controls").EnumerateArray().Single(c => c.GetProperty("path").GetString() == "optimizer.lr.multiplier");
        Assert.Equal("number", lr.GetProperty("params")[0].GetProperty("type").GetString());
        Assert.Contains("model.dropout.p", json.GetProperty("not_allowed").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("optimizer.lr.multiplier", json.GetProperty("not_allowed").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task SendCommand_Applied_ReturnsTheAckAndTheLineSaysItCameFromMcp()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var reply = await session.CallAsync("send_command", new() { ["path"] = "optimizer.lr.multiplier", ["args"] = new[] { 0.5 } });

        Assert.False(reply.IsError, reply.ToString());
        var json = reply.Json;
        Assert.Equal("applied", json.GetProperty("status").GetString());
        var id = json.GetProperty("command").GetProperty("id").GetString();
        Assert.Equal(id, json.GetProperty("ack").GetProperty("id").GetString());
        using var line = JsonDocument.Parse(Assert.Single(_trainer.Queue.CommandLines()));
        Assert.Equal(id, line.RootElement.GetProperty("id").GetString());
        Assert.Equal("mcp", line.RootElement.GetProperty("source").GetString());
        Assert.Equal(0.5, line.RootElement.GetProperty("args")[0].GetDouble());
    }

    [Fact]
    public async Task SendCommand_Failed_IsAToolErrorWithTheTrainersReason()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var reply = await session.CallAsync("send_command", new() { ["path"] = "optimizer.lr.multiplier", ["args"] = new[] { -1 } });

        Assert.True(reply.IsError, reply.ToString());
        Assert.StartsWith("the trainer failed the command: multiplier must be > 0.", reply.Text, StringComparison.Ordinal);
        Assert.Equal("failed", reply.Json.GetProperty("ack").GetProperty("status").GetString());
    }

    [Fact]
    public async Task SendCommand_UnknownPath_IsAToolErrorWithTheClosestNamesAndQueuesNothing()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var reply = await session.CallAsync("send_command", new() { ["path"] = "optimizer.lr.multiplyer", ["args"] = new[] { 0.5 } });

        Assert.True(reply.IsError, reply.ToString());
        Assert.Contains("has no control 'optimizer.lr.multiplyer'. Did you mean 'optimizer.lr.multiplier'?", reply.Text, StringComparison.Ordinal);
        Assert.Empty(_trainer.Queue.CommandLines());
    }

    [Theory]
    [InlineData("model.dropout.p", "accepts only 'optimizer.*'")]
    [InlineData("train.stop", "accepts only 'optimizer.*'")]
    public async Task SendCommand_OutsideAllow_IsRefusedAndQueuesNothing(string path, string message)
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir, "--allow", "optimizer.*");

        var refused = await session.CallAsync("send_command", new() { ["path"] = path, ["args"] = new[] { 0.1 } });
        var allowed = await session.CallAsync("send_command", new() { ["path"] = "optimizer.lr.multiplier", ["args"] = new[] { 0.9 } });

        Assert.True(refused.IsError, refused.ToString());
        Assert.Contains(message, refused.Text, StringComparison.Ordinal);
        Assert.Contains("Nothing was queued", refused.Text, StringComparison.Ordinal);
        Assert.False(allowed.IsError, allowed.ToString());
        Assert.Single(_trainer.Queue.CommandLines());
    }

    [Theory]
    [InlineData("train.stop")]
    [InlineData("load_ckpt")]
    public async Task SendCommand_DestructiveWithoutAllow_IsRefused(string path)
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var reply = await session.CallAsync("send_command", new() { ["path"] = path });

        Assert.True(reply.IsError, reply.ToString());
        Assert.Contains($"it ends or rewinds the run, and this MCP server was started without --allow naming it (restart it with --allow {path}", reply.Text, StringComparison.Ordinal);
        Assert.Empty(_trainer.Queue.CommandLines());
    }

    [Fact]
    public async Task SendCommand_DestructiveNamedByAllow_PassesTheAllowList()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir, "--allow", "train.stop");

        var reply = await session.CallAsync("send_command", new() { ["path"] = "train.stop" });

        // QuickStart has no train.stop: the allow list let it through to the trainer's own list, which refuses it.
        Assert.True(reply.IsError, reply.ToString());
        Assert.Contains("has no control 'train.stop'", reply.Text, StringComparison.Ordinal);
    }

    public static TheoryData<string, object?, string> BadArguments => new()
    {
        { "args", "0.5", "'args' must be an array of JSON values, got \"0.5\"" },
        { "kwargs", new[] { 1 }, "'kwargs' must be an object of keyword arguments, got [1]" },
        { "at_step", -1, "'at_step' must be a whole number, 0 or more, got -1" },
        { "at_step", 1.5, "'at_step' must be a whole number, 0 or more, got 1.5" },
        { "timeout_s", 1000, "'timeout_s' must be a number from 0 to 60, got 1000" },
        { "force", true, "send_command has no argument 'force'; it takes path, args, kwargs, at_step, timeout_s" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task SendCommand_BadArgument_IsAToolErrorAndQueuesNothing(string name, object? value, string message)
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var reply = await session.CallAsync("send_command", new() { ["path"] = "optimizer.lr.multiplier", [name] = value });

        Assert.True(reply.IsError, reply.ToString());
        Assert.Contains(message, reply.Text, StringComparison.Ordinal);
        Assert.Empty(_trainer.Queue.CommandLines());
    }

    [Fact]
    public async Task SendCommand_WithoutPath_IsAToolError()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var reply = await session.CallAsync("send_command", new() { ["args"] = new[] { 1 } });

        Assert.True(reply.IsError, reply.ToString());
        Assert.Equal("send_command needs 'path', a non-empty string.", reply.Text);
    }

    [Fact]
    public async Task CallTool_Unknown_IsAProtocolError()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => session.CallAsync("set_lr"));

        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
        Assert.Contains("Unknown tool: 'set_lr'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStatus_AfterACommand_GivesCountsAndItsAck()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);
        var sent = await session.CallAsync("send_command", new() { ["path"] = "model.dropout.p", ["args"] = new[] { 0.2 } });

        var reply = await session.CallAsync("get_status", new() { ["last"] = 5 });

        Assert.False(reply.IsError, reply.ToString());
        var json = reply.Json;
        Assert.True(json.GetProperty("trainer").GetProperty("alive").GetBoolean());
        Assert.Equal(1, json.GetProperty("commands").GetInt64());
        Assert.Equal(1, json.GetProperty("acks").GetInt64());
        Assert.Equal(0, json.GetProperty("pending").GetInt64());
        var ack = Assert.Single(json.GetProperty("last_acks").EnumerateArray());
        Assert.Equal(sent.Json.GetProperty("command").GetProperty("id").GetString(), ack.GetProperty("id").GetString());
    }

    [Fact]
    public async Task GetMetrics_ReportedLoss_GivesTheLastPointsOldestFirst()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);
        await WaitForMetricsFile();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonElement loss;
        do
        {
            var reply = await session.CallAsync("get_metrics", new() { ["name"] = "loss", ["last"] = 3 });
            Assert.False(reply.IsError, reply.ToString());
            loss = Assert.Single(reply.Json.GetProperty("metrics").EnumerateArray());
        }
        while (loss.GetProperty("points").GetArrayLength() < 3 && DateTime.UtcNow < deadline && await Delay());

        var steps = loss.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("step").GetInt64()).ToArray();
        Assert.Equal("loss", loss.GetProperty("name").GetString());
        Assert.Equal(3, steps.Length);
        Assert.True(loss.GetProperty("total").GetInt64() >= 3);
        Assert.Equal(steps.Order(), steps);
    }

    [Fact]
    public async Task GetMetrics_UnknownName_IsAToolErrorNamingTheReportedOnes()
    {
        await using var session = await ServerSession.StartAsync(_trainer.Dir);
        await WaitForMetricsFile();

        var reply = await session.CallAsync("get_metrics", new() { ["name"] = "val_loss" });

        Assert.True(reply.IsError, reply.ToString());
        Assert.Contains("the trainer has reported no metric 'val_loss': it reports loss, lr", reply.Text, StringComparison.Ordinal);
    }

    private Task WaitForMetricsFile() =>
        Eventually.UntilAsync(() => File.Exists(Path.Combine(_trainer.Dir, "metrics.jsonl")), "metrics.jsonl of the trainer");

    private static async Task<bool> Delay()
    {
        await Task.Delay(50);
        return true;
    }

    private static string[] Properties(JsonElement schema) =>
        schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToArray();
}

/// <summary>The server where no trainer polls: a command waits, times out, and stays queued.</summary>
public sealed class McpServerWithoutTrainerTests : IDisposable
{
    private readonly TrainerProcess _queue = TrainerProcess.None();

    public void Dispose() => _queue.Dispose();

    [Fact]
    public async Task SendCommand_NoAck_IsAToolErrorAndTheCommandStaysQueuedOnce()
    {
        await using var session = await ServerSession.StartAsync(_queue.Dir);

        var reply = await session.CallAsync("send_command", new() { ["path"] = "optimizer.lr.multiplier", ["args"] = new[] { 0.5 }, ["at_step"] = 100, ["timeout_s"] = 0.3 });

        Assert.True(reply.IsError, reply.ToString());
        Assert.StartsWith("no ack within 0.3 s: the command (id ", reply.Text, StringComparison.Ordinal);
        Assert.Contains("do not send it again", reply.Text, StringComparison.Ordinal);
        Assert.Contains("It is held until step 100.", reply.Text, StringComparison.Ordinal);
        Assert.Equal("pending", reply.Json.GetProperty("status").GetString());
        var line = Assert.Single(_queue.Queue.CommandLines());
        Assert.Contains("\"at_step\":100", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListControls_NoController_IsAToolErrorSayingSo()
    {
        await using var session = await ServerSession.StartAsync(_queue.Dir);

        var reply = await session.CallAsync("list_controls");

        Assert.True(reply.IsError, reply.ToString());
        Assert.StartsWith("there is no controller.json in", reply.Text, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, reply.Json.GetProperty("trainer").ValueKind);
    }

    [Fact]
    public async Task GetMetrics_NothingReported_GivesNoMetrics()
    {
        await using var session = await ServerSession.StartAsync(_queue.Dir);

        var all = await session.CallAsync("get_metrics");
        var named = await session.CallAsync("get_metrics", new() { ["name"] = "loss" });

        Assert.False(all.IsError, all.ToString());
        Assert.Equal(0, all.Json.GetProperty("metrics").GetArrayLength());
        Assert.True(named.IsError, named.ToString());
        Assert.Contains("it has reported none yet", named.Text, StringComparison.Ordinal);
    }
}
