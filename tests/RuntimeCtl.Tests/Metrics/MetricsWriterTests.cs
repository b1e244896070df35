namespace RuntimeCtl.Tests.Metrics;

public sealed class MetricsWriterTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    private string MetricsFile => Path.Combine(_q.Dir, "metrics.jsonl");

    [Fact]
    public void Report_BuffersUntilFlushed_ThenWritesOneLinePerPoint()
    {
        using var rt = new RuntimeController<object>();
        rt.Configure(_q.Dir);

        rt.Report(3, "loss", 0.5);
        var before = File.Exists(MetricsFile) ? File.ReadAllText(MetricsFile) : string.Empty;
        rt.FlushMetrics();

        Assert.Equal(string.Empty, before);
        var line = Assert.Single(File.ReadAllLines(MetricsFile));
        var point = TempQueueDirectory.Parse(line);
        Assert.Equal(["step", "ts", "name", "value"], TempQueueDirectory.Keys(point));
        Assert.Equal(3, point.GetProperty("step").GetInt64());
        Assert.Equal("loss", point.GetProperty("name").GetString());
        Assert.Equal(0.5, point.GetProperty("value").GetDouble());
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Report_NonFinite_IsSkipped(double value)
    {
        using var rt = new RuntimeController<object>();
        rt.Configure(_q.Dir);

        rt.Report(1, "loss", value);
        rt.Report(2, "loss", 1);
        rt.FlushMetrics();

        Assert.Single(File.ReadAllLines(MetricsFile));
        Assert.Equal(1, rt.Metrics!.SkippedNonFinite);
    }

    [Fact]
    public void Report_BeforeConfigure_Throws()
    {
        using var rt = new RuntimeController<object>();

        Assert.Throws<QueueConfigurationException>(() => rt.Report(1, "loss", 1));
    }

    [Fact]
    public void Report_ManyPoints_WritesWithoutAFlush()
    {
        using var rt = new RuntimeController<object>();
        rt.Configure(_q.Dir);

        for (var step = 0; step < MetricsWriter.MaxBufferedLines; step++)
        {
            rt.Report(step, "loss", step);
        }

        Assert.Equal(MetricsWriter.MaxBufferedLines, File.ReadAllLines(MetricsFile).Length);
    }

    [Fact]
    public void Writer_PastTheRotationSize_MovesTheFileToMetrics1()
    {
        _q.Create();
        var writer = new MetricsWriter(_q.Dir, TimeProvider.System, rotateBytes: 4096);

        for (var step = 0; step < 400; step++)
        {
            writer.Add(step, "loss", step);
            if (step % 50 == 49)
            {
                writer.Flush();
            }
        }

        writer.Flush();

        Assert.True(new FileInfo(MetricsFile).Length <= 4096);
        Assert.True(File.Exists(Path.Combine(_q.Dir, "metrics.1.jsonl")));
        var series = Assert.Single(MetricsReader.Read(_q.Dir, null, long.MinValue));
        var steps = series.Points.Select(p => p.Step).ToArray();
        Assert.Equal(399, steps[^1]);
        Assert.Equal(steps.Order(), steps);
    }

    [Fact]
    public void Reader_Downsample_KeepsTheLastPoint()
    {
        var points = Enumerable.Range(0, 1001).Select(i => new MetricPoint(i, i, 0)).ToList();

        var kept = MetricsReader.Downsample(points, 100).ToArray();

        Assert.True(kept.Length <= 101);
        Assert.Equal(1000, kept[^1].Step);
        Assert.Equal(0, kept[0].Step);
    }
}
