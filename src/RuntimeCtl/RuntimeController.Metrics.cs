namespace RuntimeCtl;

public sealed partial class RuntimeController<TContext>
{
    private MetricsWriter? _metrics;

    /// <summary>
    /// Reports one scalar of the training run (a loss, a learning rate) for dashboards: rank 0 appends it to
    /// <c>metrics.jsonl</c> in the queue directory as <c>{"step","ts","name","value"}</c>; other ranks do nothing.
    /// </summary>
    /// <param name="step">The step the value belongs to.</param>
    /// <param name="name">The metric's name, e.g. <c>loss</c> or <c>lr</c>.</param>
    /// <param name="value">The value. NaN and infinities are skipped (JSON cannot hold them).</param>
    /// <exception cref="QueueConfigurationException"><see cref="Configure"/> was not called.</exception>
    /// <remarks>
    /// Cheap enough for every step: points are buffered and written in one append every 512 points or once a
    /// second has passed, so most calls do no I/O. Points still buffered are written by <see cref="FlushMetrics"/>
    /// and when the process exits. Once the file reaches 32 MB it is rotated to <c>metrics.1.jsonl</c> (replacing
    /// an older one), so a week-long run keeps at most about 64 MB. A write that fails drops its points and never
    /// throws. Call from the training thread.
    /// </remarks>
    public void Report(long step, string name, double value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_group.Rank != 0)
        {
            return;
        }

        (_metrics ??= CreateMetricsWriter()).Add(step, name, value);
        Reported(step, name, value);
    }

    /// <summary>Writes the points that <see cref="Report"/> has buffered (rank 0; a no-op elsewhere or before any report).</summary>
    public void FlushMetrics() => _metrics?.Flush();

    internal MetricsWriter? Metrics => _metrics;

    private MetricsWriter CreateMetricsWriter() => _queueDirectory is { } directory
        ? (_engine is { } engine ? new MetricsWriter(engine.Queue, _time) : new MetricsWriter(directory, _time))
        : throw new QueueConfigurationException(null, "Report was called before Configure. Call Configure(queueDirectory) once, before the first report.");
}
