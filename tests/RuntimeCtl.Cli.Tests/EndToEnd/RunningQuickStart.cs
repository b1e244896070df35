namespace RuntimeCtl.Cli.Tests.EndToEnd;

/// <summary>A real QuickStart polling its queue every 50 ms until the tests that share it are done, then killed.</summary>
public sealed class RunningQuickStart : IDisposable
{
    private readonly TrainerProcess _trainer = TrainerProcess.QuickStart();

    public string Dir => _trainer.Dir;

    public void Dispose() => _trainer.Dispose();
}
