using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Ranks;

/// <summary>Every rank applies the same commands at the same call, over ranks that are threads of this process.</summary>
public sealed class MultiRankPollTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    /// <summary>Runs <paramref name="poll"/> once per rank and poll, each on its own thread, with its own controller and state.</summary>
    private static (TrainState[] States, IReadOnlyList<Ack>[][] Acks, CountingGroup[] Groups) RunRanks(
        int size, string dir, int polls, Func<int, RuntimeController<TrainState>, TrainState, int, IReadOnlyList<Ack>> poll, Action<int, RuntimeController<TrainState>>? setup = null, TimeProvider? time = null, int? maxCommandsPerPoll = 10_000)
    {
        var groups = ProcessGroup.CreateInProcess(size).Select(g => new CountingGroup(g)).ToArray();
        var states = new TrainState[size];
        var acks = new IReadOnlyList<Ack>[size][];
        var errors = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try
            {
                using var rt = Trainer.Create(options: new RuntimeControllerOptions { ProcessGroup = groups[rank], OnDiagnostic = _ => { }, TimeProvider = time ?? TimeProvider.System, MaxCommandsPerPoll = maxCommandsPerPoll });
                setup?.Invoke(rank, rt);
                rt.Configure(dir);
                states[rank] = new TrainState();
                acks[rank] = new IReadOnlyList<Ack>[polls];
                for (var i = 0; i < polls; i++)
                {
                    acks[rank][i] = poll(rank, rt, states[rank], i);
                }
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(30)), "a rank deadlocked"));
        Assert.All(errors, e => Assert.Null(e));
        return (states, acks, groups);
    }

    [Fact]
    public void PollAndApply_FourRanks_ApplyTheSameCommandsInOrderWithOneAckEach()
    {
        _q.AppendLine("""{"id":"a","path":"optimizer.lr.multiplier","args":[0.5]}""");
        _q.AppendLine("""{"id":"b","path":"model.dropout.p","args":[0.3]}""");
        _q.AppendLine("""{"id":"c","path":"nope"}""");
        _q.AppendLine("[]");

        var (states, acks, _) = RunRanks(4, _q.Dir, 1, (_, rt, s, _) => rt.PollAndApply(s, TimeSpan.Zero));

        Assert.All(states, s => Assert.Equal(0.0005, s.Lr, 12));
        Assert.All(states, s => Assert.Equal(0.3, s.Dropout));
        var written = _q.ReadAcks();
        Assert.Equal(["a", "b", "c"], written.Take(3).Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(["applied", "applied", "rejected", "rejected"], written.Select(a => a.GetProperty("status").GetString()));
        Assert.All(written, a => Assert.Equal(4, a.GetProperty("ranks").GetInt32()));
        Assert.Equal(4, acks[0][0].Count);
        Assert.All(acks.Skip(1), rankAcks => Assert.Empty(rankAcks[0]));
    }

    [Fact]
    public void PollAndApply_ControlThrowsOnOneRank_IsFailedWithRankErrors()
    {
        _q.AppendLine("""{"id":"a","path":"flaky"}""");
        _q.AppendLine("""{"id":"b","path":"model.dropout.p","args":[0.3]}""");

        RunRanks(
            3,
            _q.Dir,
            1,
            (_, rt, s, _) => rt.PollAndApply(s, TimeSpan.Zero),
            (rank, rt) => rt.Register("flaky", _ =>
            {
                if (rank == 2)
                {
                    throw new InvalidOperationException("out of memory on rank 2");
                }
            }));

        var written = _q.ReadAcks();
        Assert.Equal("failed", written[0].GetProperty("status").GetString());
        Assert.Equal("out of memory on rank 2", written[0].GetProperty("rank_errors").GetProperty("2").GetString());
        Assert.Single(written[0].GetProperty("rank_errors").EnumerateObject());
        Assert.Equal("applied", written[1].GetProperty("status").GetString());
        Assert.False(written[1].TryGetProperty("rank_errors", out _));
    }

    [Fact]
    public void PollAndApply_StepBasedNotDue_RunsNoCollective()
    {
        var (_, _, groups) = RunRanks(2, _q.Dir, 10, (_, rt, s, i) => rt.PollAndApplyAtStep(s, step: i, everySteps: 5));

        // Steps 0 and 5 are due: each runs one header broadcast (nothing queued); the other 8 steps run none.
        Assert.All(groups, g => Assert.Equal(2, g.Collectives));
    }

    [Fact]
    public void PollAndApply_TimeBasedNotDue_RanksMeetAtGapsRankZeroChooses()
    {
        // The clock does not move, so rank 0 doubles the gap at each meeting: calls 1, 3, 7, 15 (of 20) are collectives.
        var (_, _, groups) = RunRanks(2, _q.Dir, 20, (_, rt, s, _) => rt.PollAndApply(s, TimeSpan.FromHours(1)), time: new FakeTimeProvider());

        Assert.All(groups, g => Assert.Equal(4, g.Collectives));
    }

    [Fact]
    public void PollAndApply_TimeBasedDueBetweenMeetings_AppliesOnEveryRankAtTheNextMeeting()
    {
        var time = new FakeTimeProvider();
        var appliedAt = new int[2];

        RunRanks(
            2,
            _q.Dir,
            20,
            (rank, rt, s, i) =>
            {
                if (rank == 0 && i == 10)
                {
                    _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.4]}""");
                    time.Advance(TimeSpan.FromHours(2)); // rank 0's clock decides; the other rank's is never read
                }

                var acks = rt.PollAndApply(s, TimeSpan.FromHours(1));
                if (s.Dropout == 0.4 && appliedAt[rank] == 0)
                {
                    appliedAt[rank] = i;
                }

                return acks;
            },
            time: time);

        // The meetings after the first are at calls 3, 7 and 15 (indexes 2, 6, 14): the command waits for index 14.
        Assert.Equal([14, 14], appliedAt);
        Assert.Equal("applied", Assert.Single(_q.ReadAcks()).GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_BacklogLeftByTheCap_IsAppliedOnEveryRankAtTheNextCalls()
    {
        for (var i = 0; i < 5; i++)
        {
            _q.AppendLine($$"""{"id":"c{{i}}","path":"optimizer.lr.multiplier","args":[0.5]}""");
        }

        var backlog = new bool[2][];
        var (states, acks, _) = RunRanks(
            2,
            _q.Dir,
            4,
            (rank, rt, s, i) =>
            {
                var written = rt.PollAndApply(s, TimeSpan.FromHours(1));
                (backlog[rank] ??= new bool[4])[i] = rt.HasBacklog;
                return written;
            },
            time: new FakeTimeProvider(),
            maxCommandsPerPoll: 2);

        // Calls 1-3 apply 2, 2 and 1 commands on both ranks although the hour never passes; call 4 is not due.
        Assert.All(states, s => Assert.Equal(0.001 * Math.Pow(0.5, 5), s.Lr, 12));
        Assert.Equal([2, 2, 1, 0], acks[0].Select(a => a.Count));
        Assert.All(backlog, b => Assert.Equal([true, true, false, false], b));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PollAndApply_BacklogOfSeveralBatches_IsAppliedOnEveryRankInOnePoll(bool byStep)
    {
        // 5,000 commands are five batches of the engine: one poll applies them all, on both ranks, as one rank does.
        const int Commands = 5_000;
        _q.AppendRaw(string.Concat(Enumerable.Range(0, Commands).Select(i => $$"""{"id":"c{{i}}","path":"model.dropout.p","args":[{{(i % 9) / 10.0}}]}""" + "\n")));

        var (states, acks, _) = RunRanks(2, _q.Dir, 2, (_, rt, s, i) => byStep ? rt.PollAndApplyAtStep(s, step: i) : rt.PollAndApply(s, TimeSpan.Zero));

        Assert.All(states, s => Assert.Equal(Commands, s.Applied));
        Assert.All(states, s => Assert.Equal(((Commands - 1) % 9) / 10.0, s.Dropout));
        Assert.Equal(Commands, acks[0][0].Count);
        Assert.Empty(acks[0][1]);
        Assert.All(acks[1], a => Assert.Empty(a)); // acks are rank 0's
        var written = _q.ReadAcks();
        Assert.Equal(Commands, written.Count);
        Assert.All(written, a => Assert.Equal(2, a.GetProperty("ranks").GetInt32()));
        Assert.Equal(Enumerable.Range(0, Commands).Select(i => $"c{i}"), written.Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public void PollAndApply_AtStep_AppliesOnEveryRankAtTheSameStep()
    {
        _q.AppendLine("""{"id":"later","path":"model.dropout.p","args":[0.5],"at_step":3}""");
        var seenAt = new long[2];

        RunRanks(
            2,
            _q.Dir,
            6,
            (rank, rt, s, i) =>
            {
                var result = rt.PollAndApplyAtStep(s, step: i);
                if (s.Dropout == 0.5 && seenAt[rank] == 0)
                {
                    seenAt[rank] = i;
                }

                return result;
            });

        Assert.Equal([3L, 3L], seenAt);
        Assert.Equal(3, _q.ReadAcks().Single().GetProperty("step").GetInt64());
    }

    [Fact]
    public void PollAndApply_OnlyRankZero_TouchesTheQueueDirectory()
    {
        var dir = _q.Dir;

        RunRanks(2, dir, 1, (rank, rt, s, _) =>
        {
            Assert.Equal(rank, rt.Rank);
            return rt.PollAndApply(s, TimeSpan.Zero);
        });

        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "controller.json")));
        Assert.Equal(2, document.RootElement.GetProperty("world_size").GetInt32());
    }
}

/// <summary>Tests that change the process environment run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentTests
{
    public const string Name = "process environment";
}

[Collection(ProcessEnvironmentTests.Name)]
public sealed class LauncherCheckTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Configure_LauncherSaysSeveralRanksButGroupHasOne_FailsLoudly()
    {
        Environment.SetEnvironmentVariable("PMI_SIZE", "4");
        try
        {
            var e = Assert.Throws<ProcessGroupException>(() => Trainer.Create(_q.Dir));

            Assert.Contains("PMI_SIZE=4", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PMI_SIZE", null);
        }
    }
}
