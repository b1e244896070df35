using RuntimeCtl.Cli.Tests.EndToEnd;

namespace RuntimeCtl.Cli.Tests.Remote;

/// <summary>A real QuickStart polling its queue and a real <c>runtimectl serve</c> process over it, for the tests that share them.</summary>
public sealed class RunningServe : IDisposable
{
    private readonly RunningQuickStart? _trainer;
    private readonly TempQueueDirectory? _empty;
    private readonly ChildProcess _serve;

    public RunningServe()
        : this(withTrainer: true)
    {
    }

    /// <param name="withTrainer">Whether a trainer polls the queue; without one, an empty queue directory is served.</param>
    private RunningServe(bool withTrainer)
    {
        if (withTrainer)
        {
            _trainer = new RunningQuickStart();
        }
        else
        {
            _empty = new TempQueueDirectory().Create();
        }

        Dir = _trainer?.Dir ?? _empty!.Dir;
        _serve = ChildProcess.StartDotnet(TestPaths.Cli, ["-q", Dir, "serve"]);
        try
        {
            Eventually.Until(() => _serve.Stdout.Contains('\n', StringComparison.Ordinal), "URL printed by runtimectl serve", process: _serve);
        }
        catch
        {
            Dispose();
            throw;
        }

        Url = _serve.Stdout.Split('\n')[0].Trim();
        var uri = new Uri(Url);
        BaseUrl = uri.GetLeftPart(UriPartial.Authority);
        Token = uri.Query["?token=".Length..];
    }

    /// <summary>A server over an empty queue directory that no trainer polls.</summary>
    public static RunningServe WithoutTrainer() => new(withTrainer: false);

    /// <summary>Gets the queue directory the trainer polls and the server serves.</summary>
    public string Dir { get; }

    /// <summary>Gets the URL that serve printed, with its token.</summary>
    public string Url { get; }

    /// <summary>Gets the server's address without the token.</summary>
    public string BaseUrl { get; }

    /// <summary>Gets the server's access token.</summary>
    public string Token { get; }

    public void Dispose()
    {
        _serve.Dispose();
        _trainer?.Dispose();
        _empty?.Dispose();
    }
}
