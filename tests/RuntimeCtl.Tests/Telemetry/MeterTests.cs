using System.Diagnostics.Metrics;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Telemetry;

/// <summary>The <c>RuntimeCtl</c> meter, heard through a <see cref="MeterListener"/> on this test's own controller (tests run in parallel, each controller has a meter).</summary>
public sealed class MeterTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _heard = [];

    public void Dispose() => _q.Dispose();

    [Fact]
    public void PollAndApply_AppliedFailedRejectedAndUnregistered_CountedByStatusPathAndRank()
    {
        using var rt = Trainer.Create(_q.Dir);
        using var listener = Listen(rt.Meter);
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.3]}""");
        _q.AppendLine("""{"id":"f","path":"model.dropout.p","args":[1.5]}""");
        _q.AppendLine("""{"id":"r","path":"no.such.thing","args":[]}""");

        rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 1);

        var commands = _heard.Where(h => h.Instrument == RuntimeTelemetry.Commands).ToList();
        Assert.Equal(["applied:model.dropout.p", "failed:model.dropout.p", "rejected:(unregistered)"], commands.Select(c => $"{c.Tags["status"]}:{c.Tags["path"]}"));
        Assert.All(commands, c => Assert.Equal(0, c.Tags["rank"]));
        Assert.All(commands, c => Assert.Equal(1, c.Value));
    }

    [Fact]
    public void PollAndApply_DuePolls_RecordTheirDurationInSecondsAndNotDueOnesNothing()
    {
        using var rt = Trainer.Create(_q.Dir);
        using var listener = Listen(rt.Meter);

        rt.PollAndApplyAtStep(new TrainState(), step: 0, everySteps: 10);
        rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 10); // not due
        rt.PollAndApplyAtStep(new TrainState(), step: 10, everySteps: 10);

        var durations = _heard.Where(h => h.Instrument == RuntimeTelemetry.PollDuration).ToList();
        Assert.Equal(2, durations.Count);
        Assert.All(durations, d => Assert.InRange(d.Value, 0, 10));
    }

    [Fact]
    public void Pending_HeldCommands_AreObserved()
    {
        using var rt = Trainer.Create(_q.Dir);
        using var listener = Listen(rt.Meter);
        _q.AppendLine("""{"id":"h1","path":"model.dropout.p","args":[0.3],"at_step":100}""");
        _q.AppendLine("""{"id":"h2","path":"model.dropout.p","args":[0.3],"at_step":100}""");
        rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 1);

        listener.RecordObservableInstruments();

        var pending = Assert.Single(_heard, h => h.Instrument == RuntimeTelemetry.Pending);
        Assert.Equal(2, pending.Value);
        Assert.Equal(0, pending.Tags["rank"]);
    }

    [Fact]
    public void Report_Value_IsAGaugeTaggedWithItsName()
    {
        using var rt = Trainer.Create(_q.Dir);
        using var listener = Listen(rt.Meter);

        rt.Report(3, "loss", 0.25);

        var metric = Assert.Single(_heard, h => h.Instrument == RuntimeTelemetry.Metric);
        Assert.Equal(0.25, metric.Value);
        Assert.Equal("loss", metric.Tags["name"]);
        Assert.Equal(0, metric.Tags["rank"]);
    }

    [Fact]
    public void Observe_AckAndReportObservers_SeeEachAndAThrowingOneNeverReachesTheLoop()
    {
        var diagnostics = new List<RuntimeDiagnostic>();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { OnDiagnostic = diagnostics.Add });
        var acks = new List<string>();
        var reports = new List<string>();
        using var good = rt.Observe(a => acks.Add(a.Id), (step, name, value) => reports.Add($"{name}@{step}={value}"));
        using var bad = rt.Observe(_ => throw new InvalidOperationException("boom"));
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.3]}""");

        rt.PollAndApplyAtStep(new TrainState(), step: 1, everySteps: 1);
        rt.Report(1, "loss", 0.5);

        Assert.Equal(["a"], acks);
        Assert.Equal(["loss@1=0.5"], reports);
        Assert.Contains(diagnostics, d => d.Code == "observer-failed" && d.Message.Contains("boom", StringComparison.Ordinal));
    }

    [Fact]
    public void PollAndApply_NobodyListening_InstrumentsAreDisabled()
    {
        using var rt = Trainer.Create(_q.Dir);
        var enabled = new List<bool>();
        using var probe = new MeterListener { InstrumentPublished = (i, l) => { if (i.Meter == rt.Meter) { enabled.Add(i.Enabled); } } };
        probe.Start();

        Assert.NotEmpty(enabled);
        Assert.All(enabled, Assert.False); // so the poll measures and counts nothing
    }

    private MeterListener Listen(Meter meter)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == meter)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        listener.Start();
        return listener;
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var (key, tagValue) in tags)
        {
            copy[key] = tagValue;
        }

        lock (_heard)
        {
            _heard.Add((instrument.Name, value, copy));
        }
    }
}
