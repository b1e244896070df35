using Microsoft.Extensions.Time.Testing;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests;

public sealed class RuntimeControllerOptionsTests
{
    [Fact]
    public void Validated_EveryOptionSet_IsCopiedToTheControllersOwnObject()
    {
        // Each settable option gets a value other than its default; the copy must carry every one of them (an
        // option added later and forgotten by a hand-written copy would come back at its default).
        var options = new RuntimeControllerOptions
        {
            PollInterval = TimeSpan.FromSeconds(7),
            MaxCommandsPerPoll = 3,
            MaxLineBytes = 4096,
            AllowSharedQueue = true,
            TimeProvider = new FakeTimeProvider(),
            ProcessGroup = ProcessGroup.CreateInProcess(1)[0],
            OnDiagnostic = _ => { },
            IgnoreLauncherEnvironment = true,
            Durability = RuntimeDurability.PowerLossSafe,
            AllowNetworkFileSystem = true,
        };
        var defaults = new RuntimeControllerOptions();
        var settable = typeof(RuntimeControllerOptions).GetProperties().Where(p => p.CanWrite).ToList();
        Assert.All(settable, p => Assert.NotEqual(p.GetValue(defaults), p.GetValue(options))); // the test sets them all

        var copy = options.Validated();

        Assert.NotSame(options, copy);
        Assert.All(settable, p => Assert.Equal(p.GetValue(options), p.GetValue(copy)));
    }

    [Theory]
    [InlineData(1023)]
    [InlineData(RuntimeControllerOptions.MaxLineBytesLimit + 1)]
    [InlineData(int.MaxValue)]
    public void Constructor_MaxLineBytesOutOfRange_ThrowsWithTheRange(int maxLineBytes)
    {
        var error = Assert.Throws<ArgumentException>(() => new RuntimeController<TrainState>(new RuntimeControllerOptions { MaxLineBytes = maxLineBytes }));

        Assert.Contains($"MaxLineBytes must be from 1024 to {RuntimeControllerOptions.MaxLineBytesLimit} (256 MiB), got {maxLineBytes}.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnDiagnostic_ControllerFileFailsOnTheThreadPool_IsCalledOnTheTrainingThread()
    {
        using var q = new TempQueueDirectory();
        var time = new FakeTimeProvider();
        var seen = new List<(string Code, int Thread)>();
        var rt = Trainer.Create(options: new RuntimeControllerOptions { TimeProvider = time, OnDiagnostic = d => seen.Add((d.Code, Environment.CurrentManagedThreadId)) });
        rt.Configure(q.Dir);
        var controller = Path.Combine(q.Dir, "controller.json");
        File.Delete(controller);
        Directory.CreateDirectory(Path.Combine(controller, "in-the-way")); // rename onto a non-empty directory fails
        var state = new TrainState();

        rt.PollAndApply(state, TimeSpan.Zero); // the first poll's controller.json is written on the thread pool

        // Once that write has started (its temporary file is there), Dispose cannot run it inline on this thread.
        Assert.True(SpinWait.SpinUntil(() => File.Exists(controller + ".tmp"), TimeSpan.FromSeconds(30)));
        rt.Dispose(); // waits for that write, then reports what it found

        var failure = Assert.Single(seen, d => d.Code == "controller-file-failed");
        Assert.Equal(Environment.CurrentManagedThreadId, failure.Thread);
    }
}
