using System.Globalization;
using System.Text.Json;
using RuntimeCtl.TorchSharp.Tests.Support;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>
/// A run steered live with three CLI commands, its replay with <c>runtimectl replay</c> on a fresh run, and a run
/// without commands, all real processes: the replay ends with bit-identical parameters, the plain run does not.
/// </summary>
public sealed class TorchSharpTrainingReplayTests : IDisposable
{
    private const int Steps = 300;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Replay_OfALiveSteeredRun_EndsWithBitIdenticalParameters()
    {
        var live = _temp.Combine("live");
        string liveHash;
        using (var sample = Start(live, "--step-delay-ms", "10", "--log-every", "1"))
        {
            var previous = -1L;
            foreach (var (path, value) in ((string, string)[])[("optimizer.lr", "0.0005"), ("model.dropout.p", "0.3"), ("optimizer.lr.multiplier", "0.5")])
            {
                Eventually.Until(() => SampleWait.LastPrintedStep(sample) >= previous + 40, "the steps to advance", Patience, sample);
                var ack = Cli(["-q", live, path, value, "--wait", "--timeout", "60"]).Split('\n', StringSplitOptions.RemoveEmptyEntries)[1];
                using var document = JsonDocument.Parse(ack);
                Assert.Equal("applied", document.RootElement.GetProperty("status").GetString());
                previous = document.RootElement.GetProperty("step").GetInt64();
            }

            liveHash = Hash(sample.WaitForExit(Patience));
        }

        var history = Cli(["-q", live, "history", "--status", "applied"]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, history.Length);
        var replayed = _temp.Combine("replay");
        var plan = Cli(["-q", replayed, "replay", "--from", live]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, plan.Length);
        string replayHash;
        using (var replay = Start(replayed))
        {
            replayHash = Hash(replay.WaitForExit(Patience));
        }

        string plainHash;
        using (var plain = Start(_temp.Combine("plain")))
        {
            plainHash = Hash(plain.WaitForExit(Patience));
        }

        // The replay applied each command at the step the live run did.
        var liveSteps = AckSteps(Cli(["-q", live, "history"]));
        Assert.Equal(liveSteps, AckSteps(Cli(["-q", replayed, "history"])));
        Assert.Equal(liveHash, replayHash);
        Assert.NotEqual(liveHash, plainHash);
    }

    private static long[] AckSteps(string history) =>
        [.. history.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64())];

    private static ChildProcess Start(string queue, params string[] more) =>
        ChildProcess.StartDotnet(TestPaths.TorchSharpTraining, ["--queue", queue, "--steps", Steps.ToString(CultureInfo.InvariantCulture), "--seed", "7", "--threads", "1", .. more]);

    private static string Hash(ProcessResult sample)
    {
        Assert.True(sample.ExitCode == 0, sample.ToString());
        var last = sample.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        using var summary = JsonDocument.Parse(last);
        return summary.RootElement.GetProperty("parameters_sha256").GetString()!;
    }

    private static string Cli(string[] arguments)
    {
        var result = ChildProcess.RunDotnet(TestPaths.Cli, [.. arguments], Patience);
        Assert.True(result.ExitCode == 0, $"runtimectl {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }
}
