using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>samples/MpiTraining under real mpirun: data-parallel TorchSharp, steered with the standard controls.</summary>
public sealed class MpiTrainingSampleTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);
    private readonly TempQueueDirectory _queue = new();
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("runtimectl-dp-");

    private static string Sample =>
        TestPaths.Recorded("DataParallelSamplePath");

    public void Dispose()
    {
        _queue.Dispose();
        _scratch.Delete(recursive: true);
    }

    [MpiFact]
    public void GlobalBatch_OneAndTwoRanks_ComputeTheSameParameters()
    {
        // Without dropout the only difference is where the global batch's gradient is summed: float rounding.
        var one = Run(1, "one");
        var two = Run(2, "two");

        Assert.Equal(one.Length, two.Length);
        var largest = one.Zip(two, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{one.Length} parameters, largest difference after 50 steps: {largest:G3}");
        Assert.True(largest < 1e-5, $"np=1 and np=2 differ by up to {largest:G3}");
        Assert.True(one.Zip(Initial(), (a, b) => Math.Abs(a - b)).Max() > 1e-3, "the parameters did not train");

        double[] Run(int ranks, string name)
        {
            var dump = Path.Combine(_scratch.FullName, name + ".txt");
            var result = MpiRun.OpenMpi(ranks, Sample, ["--queue", Path.Combine(_scratch.FullName, name), "--steps", "50", "--dropout", "0", "--dump-parameters", dump], timeout: Guard);
            Assert.True(result.ExitCode == 0, result.ToString());
            return [.. File.ReadAllLines(dump).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];
        }

        double[] Initial()
        {
            var dump = Path.Combine(_scratch.FullName, "initial.txt");
            var result = MpiRun.OpenMpi(1, Sample, ["--queue", Path.Combine(_scratch.FullName, "initial"), "--steps", "0", "--dump-parameters", dump], timeout: Guard);
            Assert.True(result.ExitCode == 0, result.ToString());
            return [.. File.ReadAllLines(dump).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];
        }
    }

    [MpiFact]
    public void StandardControls_TwoRanks_ApplyAtTheSameStepAndTheReplicasStayIdentical()
    {
        using var job = MpiRun.StartOpenMpi(2, Sample, ["--queue", _queue.Dir, "--steps", "1000000", "--step-delay-ms", "5"]);
        WaitFor(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);

        (string Path, object?[] Args, KeyValuePair<string, object?>[]? Kwargs)[] commands =
        [
            ("optimizer.lr", [0.0005], null),
            ("save_ckpt", [], [new("label", "mid")]),
            ("model.dropout.p", [0.2], null),
            ("load_ckpt", [], [new("label", "mid")]),
            ("train.pause", [], null),
            ("train.resume", [], null),
            ("train.stop", [], null),
        ];
        foreach (var (path, args, kwargs) in commands)
        {
            using var sent = JsonDocument.Parse(CommandSender.Enqueue(_queue.Dir, path, args, kwargs).Line);
            var id = sent.RootElement.GetProperty("id").GetString();
            WaitFor(job, $"the ack of {path}", () => _queue.ReadAcks().Any(a => a.GetProperty("id").GetString() == id));
        }

        var result = job.WaitForExit(Guard);

        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        var acks = _queue.ReadAcks();
        Assert.Equal(commands.Select(c => c.Path), acks.Select(a => a.GetProperty("path").GetString()));
        Assert.All(acks, a => Assert.Equal("applied", a.GetProperty("status").GetString()));
        Assert.All(acks, a => Assert.Equal(2, a.GetProperty("ranks").GetInt32()));
        var ends = result.Matching(@"^rank (\d) checksum ([0-9a-f]+) lr (\S+)$");
        Assert.Equal(["0", "1"], ends.Select(m => m.Groups[1].Value).Order());
        Assert.Single(ends.Select(m => m.Groups[2].Value).Distinct());

        // The checkpoint kept the lr; one copy, written by rank 0; the stop ended every rank at the step it was applied.
        Assert.All(ends, m => Assert.Equal(0.0005, double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)));
        Assert.Equal(["mid"], Directory.GetDirectories(Path.Combine(_queue.Dir, "checkpoints")).Select(Path.GetFileName));
        var summary = JsonDocument.Parse(result.StdoutLines.Single(l => l.StartsWith("{\"steps\"", StringComparison.Ordinal))).RootElement;
        Assert.True(summary.GetProperty("stopped_by_command").GetBoolean());
        Assert.Equal(acks[^1].GetProperty("step").GetInt64(), summary.GetProperty("steps").GetInt64());
        Assert.Equal(1, summary.GetProperty("checkpoints").GetInt32());
    }

    [MpiFact]
    public void LoadCheckpoint_MissingOnRankZero_FailsOnEveryRankAndTheJobGoesOn()
    {
        // Rank 0 cannot read it: the other ranks must learn so from rank 0, not wait for files that never come.
        using var job = MpiRun.StartOpenMpi(2, Sample, ["--queue", _queue.Dir, "--steps", "1000000", "--step-delay-ms", "5"]);
        WaitFor(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);
        foreach (var (path, kwargs) in new (string, KeyValuePair<string, object?>[]?)[] { ("load_ckpt", [new("label", "never-saved")]), ("train.stop", null) })
        {
            using var sent = JsonDocument.Parse(CommandSender.Enqueue(_queue.Dir, path, kwargs: kwargs).Line);
            var id = sent.RootElement.GetProperty("id").GetString();
            WaitFor(job, $"the ack of {path}", () => _queue.ReadAcks().Any(a => a.GetProperty("id").GetString() == id));
        }

        var result = job.WaitForExit(Guard);

        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        var acks = _queue.ReadAcks();
        Assert.Equal("failed", acks[0].GetProperty("status").GetString());
        Assert.Equal(["0", "1"], acks[0].GetProperty("rank_errors").EnumerateObject().Select(e => e.Name));
        Assert.Contains("rank 0 could not send the checkpoint", acks[0].GetProperty("rank_errors").GetProperty("1").GetString(), StringComparison.Ordinal);
        Assert.Contains("never-saved", acks[0].GetProperty("rank_errors").GetProperty("0").GetString(), StringComparison.Ordinal);
        Assert.Equal("applied", acks[1].GetProperty("status").GetString());
        Assert.Single(result.Matching(@"^rank \d checksum (\S+) lr").Select(m => m.Groups[1].Value).Distinct());
    }

    private static void WaitFor(MpiJob job, string what, Func<bool> condition) => Eventually.Until(condition, what, Guard, job.Process);
}
