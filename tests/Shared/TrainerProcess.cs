namespace RuntimeCtl.Testing;

/// <summary>
/// A real trainer process (QuickStart or TorchSharpTraining) polling a fresh queue directory, started and waited for
/// until it has polled once; killed and the directory removed at dispose.
/// </summary>
public sealed class TrainerProcess : IDisposable
{
    private readonly ChildProcess? _process;

    private TrainerProcess(string? assembly, IEnumerable<string> arguments)
    {
        Queue = new TempQueueDirectory().Create();
        if (assembly is null)
        {
            return;
        }

        _process = ChildProcess.StartDotnet(assembly, ["--queue", Dir, .. arguments]);
        try
        {
            Eventually.Until(() => File.Exists(Queue.Controller), $"the trainer's first poll of {Dir}", process: _process);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Gets the queue directory the trainer polls.</summary>
    public TempQueueDirectory Queue { get; }

    /// <summary>Gets the path of the queue directory.</summary>
    public string Dir => Queue.Dir;

    /// <summary>Gets what the trainer printed so far (stdout then stderr).</summary>
    public string Output => _process is null ? string.Empty : _process.Stdout + _process.Stderr;

    /// <summary>Starts QuickStart polling every 50 ms.</summary>
    public static TrainerProcess QuickStart() => new(TestPaths.QuickStart, ["--every-s", "0.05", "--step-delay-ms", "5"]);

    /// <summary>Starts the main job with <paramref name="options"/>.</summary>
    public static TrainerProcess TorchSharpTraining(params string[] options) => new(TestPaths.TorchSharpTraining, options);

    /// <summary>Gets a queue directory that no trainer polls.</summary>
    public static TrainerProcess None() => new(null, []);

    /// <summary>Waits for the trainer to exit by itself (failing the test after <paramref name="timeout"/>); returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        Assert.NotNull(_process);
        return _process.WaitForExit(timeout).ExitCode;
    }

    public override string ToString() => _process?.ToString() ?? $"no trainer on {Dir}";

    public void Dispose()
    {
        _process?.Dispose();
        Queue.Dispose();
    }
}
