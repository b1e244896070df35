using System.Text.Json;

namespace RuntimeCtl.Tests.Metrics;

public sealed class ReportTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Report_ThenDispose_WritesTheBufferedPoints()
    {
        var rt = Trainer.Create(_q.Dir);
        rt.Report(7, "loss", 0.25);
        rt.Report(7, "lr", double.NaN);

        rt.Dispose();

        var lines = File.ReadAllLines(Path.Combine(_q.Dir, "metrics.jsonl"));
        using var point = JsonDocument.Parse(Assert.Single(lines));
        Assert.Equal(7, point.RootElement.GetProperty("step").GetInt64());
        Assert.Equal("loss", point.RootElement.GetProperty("name").GetString());
        Assert.Equal(0.25, point.RootElement.GetProperty("value").GetDouble());
    }

    [Fact]
    public void Report_BeforeConfigure_Throws()
    {
        using var rt = Trainer.Create();

        Assert.Throws<QueueConfigurationException>(() => rt.Report(0, "loss", 1));
    }
}
