using System.Diagnostics.Metrics;

namespace RuntimeCtl;

/// <summary>The names under which RuntimeCtl publishes its measurements (<see cref="System.Diagnostics.Metrics"/>).</summary>
public static class RuntimeTelemetry
{
    /// <summary>The name of the <see cref="Meter"/> every controller publishes on: <c>RuntimeCtl</c>.</summary>
    public const string MeterName = "RuntimeCtl";

    /// <summary>A counter of acked commands, tagged <c>status</c>, <c>path</c> (an unregistered path is <c>(unregistered)</c>) and <c>rank</c>.</summary>
    public const string Commands = "runtimectl.commands";

    /// <summary>A histogram of the duration of due polls, in seconds, tagged <c>rank</c>.</summary>
    public const string PollDuration = "runtimectl.poll.duration";

    /// <summary>An observable gauge of commands read but not acked yet (held for a step, deferred, or with acks unwritten), tagged <c>rank</c>.</summary>
    public const string Pending = "runtimectl.commands.pending";

    /// <summary>A gauge of the values passed to <c>Report</c>, tagged <c>name</c> and <c>rank</c>.</summary>
    public const string Metric = "runtimectl.metric";
}

/// <content>Telemetry: the <c>RuntimeCtl</c> meter and the observers of acks and reports.</content>
public sealed partial class RuntimeController<TContext>
{
    private const string Unregistered = "(unregistered)";

    private readonly Meter _meter;
    private Counter<long> _commandCounter = null!;
    private Histogram<double> _pollDuration = null!;
    private Gauge<double> _metricGauge = null!;
    private KeyValuePair<string, object?> _rankTag;
    private Action<Ack>[] _ackObservers = [];
    private Action<long, string, double>[] _reportObservers = [];

    /// <summary>
    /// Calls <paramref name="onAck"/> with every ack this controller writes and <paramref name="onReport"/> with every
    /// value passed to <see cref="Report"/> (rank 0), on the training thread, e.g. to mirror them into TensorBoard.
    /// An observer that throws is reported through <see cref="RuntimeControllerOptions.OnDiagnostic"/>, never into the loop.
    /// </summary>
    /// <param name="onAck">Called with each ack, or <see langword="null"/>.</param>
    /// <param name="onReport">Called with (step, name, value) of each report, or <see langword="null"/>.</param>
    /// <returns>A registration; dispose it to stop observing.</returns>
    public IDisposable Observe(Action<Ack>? onAck = null, Action<long, string, double>? onReport = null)
    {
        if (onAck is not null)
        {
            _ackObservers = [.. _ackObservers, onAck];
        }

        if (onReport is not null)
        {
            _reportObservers = [.. _reportObservers, onReport];
        }

        return new Registration(this, onAck, onReport);
    }

    /// <summary>Gets this controller's meter (tests listen to their own controller's only).</summary>
    internal Meter Meter => _meter;

    private Meter CreateMeter()
    {
        var meter = new Meter(RuntimeTelemetry.MeterName, typeof(RuntimeController<>).Assembly.GetName().Version?.ToString());
        _rankTag = new KeyValuePair<string, object?>("rank", _group.Rank);
        _commandCounter = meter.CreateCounter<long>(RuntimeTelemetry.Commands, unit: "{command}", description: "Commands acked, by status and path.");
        _pollDuration = meter.CreateHistogram<double>(
            RuntimeTelemetry.PollDuration,
            unit: "s",
            description: "Duration of the polls that were due (reading, applying and acking commands).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10] });
        _metricGauge = meter.CreateGauge<double>(RuntimeTelemetry.Metric, description: "The last value passed to Report, by name.");
        meter.CreateObservableGauge(RuntimeTelemetry.Pending, () => new Measurement<long>(_engine?.PendingCommands ?? 0, _rankTag), unit: "{command}", description: "Commands read but not acked yet.");
        return meter;
    }

    /// <summary>The poll's start, or 0 when nobody listens to the duration (then nothing is measured).</summary>
    private long PollStarted() => _pollDuration.Enabled ? Math.Max(1, _time.GetTimestamp()) : 0;

    private IReadOnlyList<Ack> Observed(IReadOnlyList<Ack> acks, long started)
    {
        if (started != 0)
        {
            _pollDuration.Record(_time.GetElapsedTime(started).TotalSeconds, _rankTag);
        }

        if (acks.Count == 0)
        {
            return acks;
        }

        if (_commandCounter.Enabled)
        {
            foreach (var ack in acks)
            {
                var path = ack.Path is { } p && _controls.ContainsKey(p) ? p : Unregistered; // bounded: no tag per typo
                _commandCounter.Add(1, new("status", ack.Status.ToWire()), new("path", path), _rankTag);
            }
        }

        foreach (var observer in _ackObservers)
        {
            foreach (var ack in acks)
            {
                Call(() => observer(ack));
            }
        }

        return acks;
    }

    private void Reported(long step, string name, double value)
    {
        if (_metricGauge.Enabled)
        {
            _metricGauge.Record(value, new("name", name), _rankTag);
        }

        foreach (var observer in _reportObservers)
        {
            Call(() => observer(step, name, value));
        }
    }

    private void Call(Action observer)
    {
        try
        {
            observer();
        }
        catch (Exception e)
        {
            _options.Report(new RuntimeDiagnostic("observer-failed", $"An observer registered with Observe threw: {e.Message}. The loop goes on.", e));
        }
    }

    private sealed class Registration(RuntimeController<TContext> owner, Action<Ack>? onAck, Action<long, string, double>? onReport) : IDisposable
    {
        public void Dispose()
        {
            if (onAck is not null)
            {
                owner._ackObservers = [.. owner._ackObservers.Where(o => o != onAck)];
            }

            if (onReport is not null)
            {
                owner._reportObservers = [.. owner._reportObservers.Where(o => o != onReport)];
            }
        }
    }
}
