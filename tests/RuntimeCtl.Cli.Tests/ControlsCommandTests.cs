using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

public sealed class ControlsCommandTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Run_Controls_ListsTheTrainersControlsAsJson()
    {
        using var rt = Trainer.Create(_q.Dir);

        var result = InProcess.Run("-q", _q.Dir, "controls");

        Assert.Equal(0, result.ExitCode);
        var json = result.Json;
        Assert.Equal(["queue_dir", "trainer", "controls"], TempQueueDirectory.Keys(json));
        Assert.True(json.GetProperty("trainer").GetProperty("alive").GetBoolean());
        var controls = json.GetProperty("controls").EnumerateArray().ToDictionary(c => c.GetProperty("path").GetString()!);
        Assert.Equal(["model.dropout.p", "optimizer.lr.multiplier", "save_ckpt"], controls.Keys.Order(StringComparer.Ordinal));
        var lr = controls["optimizer.lr.multiplier"];
        Assert.Equal("Multiply the learning rate.", lr.GetProperty("description").GetString());
        Assert.Equal(1e-3, lr.GetProperty("value").GetDouble());
        Assert.Equal("number", lr.GetProperty("params")[0].GetProperty("type").GetString());
        Assert.True(controls["save_ckpt"].GetProperty("params")[0].GetProperty("keyword").GetBoolean());
    }

    [Fact]
    public void Run_ControlsOnTerminal_PrintsATable()
    {
        _q.WriteController(ageSeconds: 1);

        var result = InProcess.Terminal("-q", _q.Dir, "controls");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("polling (pid 4242 on trainer-host", result.Stdout, StringComparison.Ordinal);
        var row = Assert.Single(result.Stdout.Split('\n'), l => l.StartsWith("optimizer.lr.multiplier", StringComparison.Ordinal));
        Assert.Contains("multiplier:number", row, StringComparison.Ordinal);
        Assert.Contains("0.001", row, StringComparison.Ordinal);
        Assert.Contains("Multiply the lr.", row, StringComparison.Ordinal);
        Assert.Contains("[label=string]", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ControlsWithTrainerNotPolling_SaysSo()
    {
        _q.WriteController(ageSeconds: 100);

        var json = InProcess.Run("-q", _q.Dir, "controls").Json;
        var table = InProcess.Terminal("-q", _q.Dir, "controls");

        Assert.False(json.GetProperty("trainer").GetProperty("alive").GetBoolean());
        Assert.Contains("NOT POLLING: last poll 100 s ago", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ControlsWithoutController_IsAnErrorWithTrainerNull()
    {
        _q.Create();

        var result = InProcess.Run("-q", _q.Dir, "controls");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(JsonValueKind.Null, result.Json.GetProperty("trainer").ValueKind);
        Assert.Equal(0, result.Json.GetProperty("controls").GetArrayLength());
        Assert.Contains("no controller.json", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ControlsOnTerminalWithoutController_PrintsOnlyTheError()
    {
        var result = InProcess.Terminal("-q", _q.Dir, "controls");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("no queue directory", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ControlsWithWords_IsAnOrdinaryCommandWithPathControls()
    {
        var result = InProcess.Run("-q", _q.Dir, "controls", "foo", "1");

        Assert.Equal(0, result.ExitCode);
        var command = Assert.Single(_q.CommandObjects());
        Assert.Equal("controls", command.GetProperty("path").GetString());
        Assert.Equal("""["foo",1]""", command.GetProperty("args").GetRawText());
    }

    [Fact]
    public void Run_ControlsWithUnknownFields_PassesThemThrough()
    {
        _q.WriteController(ageSeconds: 1, controls: """[{"path":"x","params":[],"unit":"ms"}]""");

        var control = InProcess.Run("-q", _q.Dir, "controls").Json.GetProperty("controls")[0];

        Assert.Equal("ms", control.GetProperty("unit").GetString());
    }
}
