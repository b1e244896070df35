using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace RuntimeCtl.Mpi.Tests.Ranks;

/// <summary>
/// Every rank applies the same commands at the same step, end to end under a real mpirun: the MpiControlPlane sample (every rank trains a copy of one model on its
/// own shard, gradients averaged with an all-reduce) steered from this test through its queue directory.
/// </summary>
[Collection(MpirunTests.Collection)]
public sealed class MultiRankPollMpiTests(ITestOutputHelper output) : IDisposable
{
    private const string FinalLine = @"^rank (\d+) checksum ([0-9a-f]{16}) lr (\S+)$";
    private const string CheckpointLine = @"^rank (\d+) ckpt (\S+) step (\d+) checksum ([0-9a-f]{16})$";

    // A bound on every wait, far above what any of these jobs needs: a job that hangs fails instead of stalling CI.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly TempQueueDirectory _queue = new();

    public void Dispose() => _queue.Dispose();

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void PollAndApply_CommandsSentMidRun_EveryRankEndsWithTheSameParametersAndLr(int ranks)
    {
        // Arrange: enough steps that the job still trains when the last ack comes.
        using var job = MpiRun.StartOpenMpi(ranks, MpiRun.ControlPlanePath, ["--queue", _queue.Dir, "--steps", "300", "--step-delay-ms", "10"]);
        WaitFor(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);
        (string Path, object?[] Args, KeyValuePair<string, object?>[]? Kwargs)[] commands =
        [
            ("optimizer.lr.multiplier", [0.5], null),
            ("model.dropout.p", [0.25], null),
            ("save_ckpt", [], [new("label", "mid")]),
        ];

        // Act: each command is sent once the previous one is acked, so they apply at different polls.
        var ids = new List<string>();
        foreach (var (path, args, kwargs) in commands)
        {
            var id = IdOf(CommandSender.Enqueue(_queue.Dir, path, args, kwargs).Line);
            ids.Add(id);
            WaitFor(job, $"the ack of {path}", () => _queue.ReadAcks().Any(a => a.GetProperty("id").GetString() == id));
        }

        var result = job.WaitForExit(Guard);

        // Assert
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        AssertEveryRankEndsIdentical(result, ranks, lr: 1e-3 * 0.5);
        var acks = _queue.ReadAcks();
        Assert.Equal(ids, acks.Select(a => a.GetProperty("id").GetString()));
        Assert.All(acks, a => AssertApplied(a, ranks));
        var saved = AssertCheckpointOnEveryRank(result, Enumerable.Range(0, ranks), "mid");
        Assert.Equal(acks[2].GetProperty("step").GetInt64(), saved);
    }

    [MpiTheory]
    [InlineData(2, 1)]
    [InlineData(4, 2)]
    public void PollAndApply_ControlThrowsOnOneRank_AckIsFailedWithThatRanksErrorAndTheJobFinishes(int ranks, int failRank)
    {
        // Arrange
        var save = IdOf(CommandSender.Enqueue(_queue.Dir, "save_ckpt", kwargs: [new("label", "b")]).Line);
        var dropout = IdOf(CommandSender.Enqueue(_queue.Dir, "model.dropout.p", [0.2]).Line);

        // Act
        var result = MpiRun.OpenMpi(ranks, MpiRun.ControlPlanePath, ["--queue", _queue.Dir, "--steps", "20", "--fail-rank", Text(failRank)], timeout: Guard);

        // Assert
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        AssertEveryRankEndsIdentical(result, ranks, lr: 1e-3);
        var acks = _queue.ReadAcks();
        Assert.Equal([save, dropout], acks.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal("failed", acks[0].GetProperty("status").GetString());
        Assert.Equal(ranks, acks[0].GetProperty("ranks").GetInt32());
        var rankError = Assert.Single(acks[0].GetProperty("rank_errors").EnumerateObject());
        Assert.Equal(Text(failRank), rankError.Name);
        Assert.Contains($"rank {failRank} could not write its checkpoint", rankError.Value.GetString());
        Assert.Contains($"rank {failRank}", acks[0].GetProperty("error").GetString());
        AssertApplied(acks[1], ranks);
        AssertCheckpointOnEveryRank(result, Enumerable.Range(0, ranks).Where(r => r != failRank), "b");
    }

    [MpiTheory]
    [InlineData(2, 1)]
    [InlineData(4, 0)]
    public void Job_RankCrashesMidRun_MpirunEndsTheJobInsteadOfHanging(int ranks, int crashRank)
    {
        // Act: the surviving ranks would train far longer than the guard, so only the crash can end the job in time.
        var result = MpiRun.OpenMpi(
            ranks,
            MpiRun.ControlPlanePath,
            ["--queue", _queue.Dir, "--steps", "1000000", "--step-delay-ms", "1", "--crash-rank", Text(crashRank), "--crash-step", "5"],
            timeout: Guard);

        // Assert
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"rank {crashRank} crashing at step 5", result.StdoutLines);
        Assert.Empty(result.Matching(FinalLine));
    }

    [MpiTheory]
    [InlineData(2, "--every-s", "0")]
    [InlineData(4, "--every-steps", "1")]
    public void PollAndApply_AtStepSentBeforeStart_AppliesOnEveryRankAtThatStep(int ranks, string pollOption, string pollValue)
    {
        // Arrange
        var multiply = IdOf(CommandSender.Enqueue(_queue.Dir, "optimizer.lr.multiplier", [2], atStep: 7).Line);
        var save = IdOf(CommandSender.Enqueue(_queue.Dir, "save_ckpt", kwargs: [new("label", "at7")], atStep: 7).Line);

        // Act
        var result = MpiRun.OpenMpi(ranks, MpiRun.ControlPlanePath, ["--queue", _queue.Dir, "--steps", "15", pollOption, pollValue], timeout: Guard);

        // Assert
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        AssertEveryRankEndsIdentical(result, ranks, lr: 1e-3 * 2);
        var acks = _queue.ReadAcks();
        Assert.Equal([multiply, save], acks.Select(a => a.GetProperty("id").GetString()));
        Assert.All(acks, a => AssertApplied(a, ranks));
        Assert.All(acks, a => Assert.Equal(7, a.GetProperty("step").GetInt64()));
        Assert.Equal(7, AssertCheckpointOnEveryRank(result, Enumerable.Range(0, ranks), "at7"));
    }

    [MpiFact]
    public void Bench_TwoRanks_ReportsTheCostOfEveryPollingMode()
    {
        // Act: speed is measured by hand (see samples/MpiControlPlane/README.md); this only proves the bench runs.
        var result = MpiRun.OpenMpi(2, MpiRun.ControlPlanePath, ["--queue", _queue.Dir, "--bench", "--steps", "200"], timeout: Guard);

        // Assert
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Matching(@"^bench ranks 2 mode (\S+) ns/poll (\d+\.\d) polls (\d+)$");
        Assert.Equal(["time-due-empty", "step-due-empty", "step-not-due", "time-not-due"], lines.Select(m => m.Groups[1].Value));
        Assert.All(lines, m => Assert.True(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) > 0, m.Value));
        Assert.Empty(_queue.ReadAcks());
    }

    /// <summary>Every rank printed its final line, all with the same checksum and exactly <paramref name="lr"/>.</summary>
    private static void AssertEveryRankEndsIdentical(ProcessResult result, int ranks, double lr)
    {
        var lines = result.Matching(FinalLine);
        Assert.True(lines.Count == ranks, result.ToString());
        Assert.Equal(Enumerable.Range(0, ranks), lines.Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order());
        Assert.True(lines.Select(m => m.Groups[2].Value).Distinct().Count() == 1, result.ToString());
        Assert.All(lines, m => Assert.Equal(lr, double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)));
    }

    /// <summary>Exactly <paramref name="expected"/> ranks saved the checkpoint, at one step with one checksum; returns the step.</summary>
    private static long AssertCheckpointOnEveryRank(ProcessResult result, IEnumerable<int> expected, string label)
    {
        var lines = result.Matching(CheckpointLine).Where(m => m.Groups[2].Value == label).ToList();
        Assert.Equal(expected, lines.Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order());
        var saved = Assert.Single(lines.Select(m => (Step: m.Groups[3].Value, Checksum: m.Groups[4].Value)).Distinct());
        return long.Parse(saved.Step, CultureInfo.InvariantCulture);
    }

    private static void AssertApplied(JsonElement ack, int ranks)
    {
        Assert.True(ack.GetProperty("status").GetString() == "applied", ack.ToString());
        Assert.Equal(ranks, ack.GetProperty("ranks").GetInt32());
        Assert.False(ack.TryGetProperty("rank_errors", out _), ack.ToString());
    }

    private static string IdOf(string command)
    {
        using var document = JsonDocument.Parse(command);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void WaitFor(MpiJob job, string what, Func<bool> condition) => Eventually.Until(condition, what, Guard, job.Process);
}
