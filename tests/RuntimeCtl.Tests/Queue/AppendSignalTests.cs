using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Queue;

public sealed class AppendSignalTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public AppendSignalTests() => Directory.CreateDirectory(_q.Dir);

    public void Dispose() => _q.Dispose();

    [Fact]
    public void ShouldLook_AfterEnoughEmptyLooks_TrustsTheFlagUntilWokenOrTheSafetyInterval()
    {
        // Without a watcher: the file system's notifications of a busy test run must not reach this one.
        using var signal = new AppendSignal();
        for (var i = 0; i < AppendSignal.IdleAfterEmptyLooks; i++)
        {
            Assert.True(signal.ShouldLook(nowMs: 1000));
            signal.Looked(found: false);
        }

        Assert.True(signal.ShouldLook(nowMs: 1000)); // once more after the watch starts: a write just before it
        signal.Looked(found: false);
        Assert.False(signal.ShouldLook(nowMs: 1000));
        signal.Wake();
        Assert.True(signal.ShouldLook(nowMs: 1000));
        signal.Looked(found: false);
        Assert.False(signal.ShouldLook(nowMs: 1000 + AppendSignal.SafetyLookEveryMs - 1));
        Assert.True(signal.ShouldLook(nowMs: 1000 + AppendSignal.SafetyLookEveryMs));
    }

    [Fact]
    public void ShouldLook_AfterALookFoundBytes_LooksAgainAtEachPoll()
    {
        using var signal = new AppendSignal();
        for (var i = 0; i < AppendSignal.IdleAfterEmptyLooks; i++)
        {
            signal.ShouldLook(0);
            signal.Looked(found: false);
        }

        signal.ShouldLook(0);
        signal.Looked(found: false);
        Assert.False(signal.ShouldLook(0));
        signal.Wake();
        Assert.True(signal.ShouldLook(0));
        signal.Looked(found: true);
        Assert.True(signal.ShouldLook(0));
    }

    [Fact]
    public void TryStart_NetworkFileSystem_IsNull() =>
        Assert.Null(AppendSignal.TryStart(_q.Dir, "commands.jsonl", localFileSystem: false));

    [Fact]
    public void PollAndApply_IdleThenAppended_IsAppliedThroughTheNotificationWithTheClockStopped()
    {
        // The clock never moves, so the safety look never comes: only the kernel's notification can wake the poll.
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { TimeProvider = new FakeTimeProvider(), OnDiagnostic = _ => { } });
        var state = new TrainState();
        for (var step = 0; step < 2 * AppendSignal.IdleAfterEmptyLooks; step++)
        {
            Assert.Empty(rt.PollAndApplyAtStep(state, step));
        }

        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.3]}""");
        var watch = Stopwatch.StartNew();
        var step2 = 1000L;
        while (rt.PollAndApplyAtStep(state, step2++).Count == 0)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the append was never noticed");
            Thread.Yield();
        }

        Assert.Equal(0.3, state.Dropout);
    }
}
