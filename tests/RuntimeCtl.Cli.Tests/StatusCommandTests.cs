using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

public sealed class StatusCommandTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    /// <summary>Sends <paramref name="count"/> commands with the CLI and applies them with a real trainer; returns the ack lines.</summary>
    private string[] SendAndApply(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(0, InProcess.Run("-q", _q.Dir, "model.dropout.p", $"0.{i + 1}").ExitCode);
        }

        Trainer.Drain(_q.Dir);
        return File.ReadAllLines(_q.Acks);
    }

    [Fact]
    public void Run_Status_PrintsTheOriginalsFourKeysFirst()
    {
        var acks = SendAndApply(3);

        var result = InProcess.Run("-q", _q.Dir, "status");

        Assert.Equal(0, result.ExitCode);
        var status = result.Json;
        Assert.Equal(["queue_dir", "commands", "acks", "last_acks"], TempQueueDirectory.Keys(status).Take(4));
        Assert.Equal(_q.Dir, status.GetProperty("queue_dir").GetString());
        Assert.Equal(3, status.GetProperty("commands").GetInt64());
        Assert.Equal(3, status.GetProperty("acks").GetInt64());
        Assert.Equal(acks, status.GetProperty("last_acks").EnumerateArray().Select(a => a.GetRawText()));
    }

    [Fact]
    public void Run_Status_AddsPendingBadLinesAndTrainerAfterTheOriginalKeys()
    {
        SendAndApply(2);
        InProcess.Run("-q", _q.Dir, "save_ckpt");

        var status = InProcess.Run("-q", _q.Dir, "status").Json;

        Assert.Equal(["queue_dir", "commands", "acks", "last_acks", "pending", "bad_ack_lines", "trainer"], TempQueueDirectory.Keys(status));
        Assert.Equal(1, status.GetProperty("pending").GetInt64());
        Assert.Equal(0, status.GetProperty("bad_ack_lines").GetInt32());
        var trainer = status.GetProperty("trainer");
        Assert.Equal(Environment.ProcessId, trainer.GetProperty("pid").GetInt32());
        Assert.Equal(JsonValueKind.Number, trainer.GetProperty("last_poll_age_s").ValueKind);
    }

    [Fact]
    public void Run_StatusLast_ShowsTheLastAcksOldestFirst()
    {
        var acks = SendAndApply(5);

        var status = InProcess.Run("-q", _q.Dir, "status", "--last", "2").Json;

        Assert.Equal(acks[3..], status.GetProperty("last_acks").EnumerateArray().Select(a => a.GetRawText()));
        Assert.Equal(5, status.GetProperty("acks").GetInt64());
    }

    [Fact]
    public void Run_StatusDefault_ShowsTenAcks()
    {
        SendAndApply(12);

        var status = InProcess.Run("-q", _q.Dir, "status").Json;

        Assert.Equal(10, status.GetProperty("last_acks").GetArrayLength());
    }

    [Fact]
    public void Run_StatusLastZero_ShowsNoAcks()
    {
        SendAndApply(2);

        var status = InProcess.Run("-q", _q.Dir, "status", "--last", "0").Json;

        Assert.Equal(0, status.GetProperty("last_acks").GetArrayLength());
        Assert.Equal(2, status.GetProperty("acks").GetInt64());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("-5")]
    [InlineData("x")]
    public void Run_StatusLastNegativeOrNotANumber_IsAUsageError(string last)
    {
        var result = InProcess.Run("-q", _q.Dir, "status", "--last", last);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("--last", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_StatusWithWords_IsAnOrdinaryCommandWithPathStatus()
    {
        var result = InProcess.Run("-q", _q.Dir, "status", "foo");

        Assert.Equal(0, result.ExitCode);
        var command = Assert.Single(_q.CommandObjects());
        Assert.Equal("status", command.GetProperty("path").GetString());
        Assert.Equal("""["foo"]""", command.GetProperty("args").GetRawText());
        Assert.Equal(result.StdoutLines[0], _q.CommandLines()[0]);
    }

    [Fact]
    public void Run_CorruptAckLines_AreCountedAndSkipped()
    {
        SendAndApply(1);
        _q.AppendAck("{torn\n");
        _q.AppendAck("[1,2]\n");
        _q.AppendAck("\n");
        _q.AppendAck("""{"id":"x","ts":1.0,"path":"p","op":"set","status":"rejected","error":"unknown path: p"}""" + "\n");

        var result = InProcess.Run("-q", _q.Dir, "status");

        Assert.Equal(0, result.ExitCode);
        var status = result.Json;
        Assert.Equal(2, status.GetProperty("bad_ack_lines").GetInt32());
        Assert.Equal(2, status.GetProperty("last_acks").GetArrayLength());
        Assert.Equal("x", status.GetProperty("last_acks")[1].GetProperty("id").GetString());
        Assert.Contains("skipped 2 corrupt lines", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_AckBeingWritten_IsNotShown()
    {
        SendAndApply(1);
        _q.AppendAck("""{"id":"half","ts":1.0,"pa""");

        var status = InProcess.Run("-q", _q.Dir, "status").Json;

        Assert.Equal(1, status.GetProperty("acks").GetInt64());
        Assert.Equal(1, status.GetProperty("last_acks").GetArrayLength());
        Assert.Equal(0, status.GetProperty("bad_ack_lines").GetInt32());
    }

    [Fact]
    public void Run_QueueWithoutController_ReportsTrainerNull()
    {
        InProcess.Run("-q", _q.Dir, "save_ckpt");

        var status = InProcess.Run("-q", _q.Dir, "status").Json;

        Assert.Equal(JsonValueKind.Null, status.GetProperty("trainer").ValueKind);
        Assert.Equal(1, status.GetProperty("commands").GetInt64());
        Assert.Equal(0, status.GetProperty("acks").GetInt64());
        Assert.Equal(1, status.GetProperty("pending").GetInt64());
    }

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(6, 1, false)]
    [InlineData(25, 10, true)]
    [InlineData(35, 10, false)]
    public void Run_ControllerAge_DecidesAlive(double ageSeconds, double interval, bool alive)
    {
        _q.WriteController(ageSeconds, interval);

        var trainer = InProcess.Run("-q", _q.Dir, "status").Json.GetProperty("trainer");

        Assert.Equal(alive, trainer.GetProperty("alive").GetBoolean());
        Assert.Equal(4242, trainer.GetProperty("pid").GetInt32());
        Assert.InRange(trainer.GetProperty("last_poll_age_s").GetDouble(), ageSeconds - 0.01, ageSeconds + 60);
    }

    [Fact]
    public void Run_MissingQueueDirectory_IsAnErrorWithNothingOnStdout()
    {
        var result = InProcess.Run("-q", _q.Dir, "status");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("no queue directory", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_EmptyQueueDirectory_ReportsZeros()
    {
        _q.Create();

        var status = InProcess.Run("-q", _q.Dir, "status").Json;

        Assert.Equal(0, status.GetProperty("commands").GetInt64());
        Assert.Equal(0, status.GetProperty("acks").GetInt64());
        Assert.Equal(0, status.GetProperty("last_acks").GetArrayLength());
    }

    [Fact]
    public void Run_StatusOnTerminal_PrintsASummaryWithTheAcksTable()
    {
        SendAndApply(1);
        InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplier", "-1");
        Trainer.Drain(_q.Dir);

        var result = InProcess.Terminal("-q", _q.Dir, "status");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Trainer   ", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Commands  2 sent, 2 acked, 0 pending", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("TIME", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("applied", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("[0.1]", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("failed", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("multiplier must be > 0", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("{\"queue_dir\"", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_StatusJsonOnTerminal_PrintsJson()
    {
        _q.Create();

        var result = InProcess.Run(["-q", _q.Dir, "status", "--json"], new Dictionary<string, string?>(), terminal: true);

        Assert.Equal("queue_dir", TempQueueDirectory.Keys(result.Json)[0]);
    }

    [Fact]
    public void Run_StatusOnTerminalWithTrainerNotPolling_SaysSo()
    {
        _q.WriteController(ageSeconds: 600);

        var result = InProcess.Terminal("-q", _q.Dir, "status", "--last", "0");

        Assert.Contains("NOT POLLING", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("TIME", result.Stdout, StringComparison.Ordinal);
    }
}
