namespace RuntimeCtl.Benchmarks;

/// <summary>What the benchmark loops hand to their controls: one counter, so a control has a visible effect.</summary>
public sealed class BenchContext
{
    public long Applied { get; set; }

    /// <summary>Creates a controller with the trivial control <c>noop</c> (no arguments, one increment) on <paramref name="queue"/>.</summary>
    public static RuntimeController<BenchContext> Controller(string queue, RuntimeControllerOptions? options = null)
    {
        var rt = new RuntimeController<BenchContext>(options ?? Options());
        rt.Register("noop", static ctx => ctx.Applied++);
        rt.Configure(queue);
        return rt;
    }

    /// <summary>Options of a single-process benchmark controller: diagnostics are dropped, not printed.</summary>
    public static RuntimeControllerOptions Options(IProcessGroup? group = null) => new()
    {
        OnDiagnostic = static _ => { },
        IgnoreLauncherEnvironment = true,
        ProcessGroup = group ?? ProcessGroup.SingleProcess,
    };
}
