using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests.EndToEnd;

/// <summary>A real QuickStart polling its queue every 50 ms until the tests that share it are done, then killed.</summary>
public sealed class RunningQuickStart : IDisposable
{
    private readonly TempQueueDirectory _q = new();
    private readonly ChildProcess _process;

    public RunningQuickStart()
    {
        _process = ChildProcess.Start(ExecutablePaths.QuickStart, ["--queue", _q.Dir, "--every-s", "0.05", "--step-delay-ms", "5"]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(_q.Controller))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                var result = _process.WaitForExit(TimeSpan.FromSeconds(1));
                _process.Dispose();
                throw new InvalidOperationException($"QuickStart did not start polling {_q.Dir}: {result}");
            }

            Thread.Sleep(20);
        }
    }

    public string Dir => _q.Dir;

    public void Dispose()
    {
        _process.Dispose();
        _q.Dispose();
    }
}
