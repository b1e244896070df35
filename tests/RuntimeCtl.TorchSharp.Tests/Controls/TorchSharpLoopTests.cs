using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using RuntimeCtl.TorchSharp.Tests.Support;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Controls;

/// <summary>Pause, resume and stop in process, and the loop helpers.</summary>
public sealed class TorchSharpLoopTests
{
    private static readonly TorchSharpControlsOptions FastPause = new() { PausePollInterval = TimeSpan.FromMilliseconds(5) };

    [Fact]
    public void WaitWhilePaused_NotPaused_ReturnsTrueWithoutPolling()
    {
        // Arrange: a queued command that only a poll would apply.
        using var steered = new SteeredLoop();
        CommandSender.Enqueue(steered.QueueDirectory, "optimizer.lr", [0.5]);

        // Act
        var goOn = steered.Loop.WaitWhilePaused(steered.Loop);

        // Assert
        Assert.True(goOn);
        Assert.Equal([0.01], OptimizerHyperparameters.GetLearningRates(steered.Optimizer));
    }

    [Fact]
    public void WaitWhilePaused_ResumeQueued_AppliesCommandsWhilePausedThenReturnsTrue()
    {
        // Arrange
        using var steered = new SteeredLoop(options: FastPause);
        steered.Train();
        var pause = steered.Apply("train.pause");
        CommandSender.Enqueue(steered.QueueDirectory, "optimizer.lr", [0.5]);
        CommandSender.Enqueue(steered.QueueDirectory, "train.resume");

        var seen = new List<Ack>();

        // Act
        var goOn = steered.Loop.WaitWhilePaused(steered.Loop, seen.Add);

        // Assert: both commands were applied by the paused loop's polls, at the step it paused at.
        Assert.Equal(["optimizer.lr", "train.resume"], seen.Select(a => a.Path));
        Assert.Equal(1, pause.Step);
        Assert.True(goOn);
        Assert.False(steered.Loop.IsPaused);
        Assert.Equal([0.5], OptimizerHyperparameters.GetLearningRates(steered.Optimizer));
        var acks = File.ReadAllLines(Path.Combine(steered.QueueDirectory, "acks.jsonl"));
        Assert.Equal(3, acks.Length);
        Assert.All(acks, line => Assert.Contains("\"status\":\"applied\"", line, StringComparison.Ordinal));
        Assert.All(acks, line => Assert.EndsWith("\"step\":1}", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WaitWhilePaused_ResumeSentLater_WaitsOnTheControllersClockUntilItArrives()
    {
        // Arrange: the fake clock is the controller's; nothing but its Advance ends a wait between polls.
        using var clock = new PauseClock();
        using var steered = new SteeredLoop(controllerOptions: new RuntimeControllerOptions { TimeProvider = clock });
        steered.Apply("train.pause");
        var seen = new ConcurrentQueue<Ack>();
        using var cancel = new CancellationTokenSource();
        var waiting = Task.Factory.StartNew(
            () => steered.Loop.WaitWhilePaused(steered.Loop, seen.Enqueue, cancel.Token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            clock.WaitUntilLoopWaits();
            clock.Advance(PauseClock.Interval); // a poll that finds nothing
            clock.WaitUntilLoopWaits();
            var pausedBeforeResume = !waiting.IsCompleted;

            // Act
            CommandSender.Enqueue(steered.QueueDirectory, "train.resume");
            clock.Advance(PauseClock.Interval);

            var goOn = await waiting.WaitAsync(PauseClock.HangLimit);

            // Assert
            Assert.True(pausedBeforeResume);
            Assert.True(goOn);
            Assert.False(steered.Loop.IsPaused);
            Assert.Equal(["train.resume"], seen.Select(a => a.Path));
        }
        finally
        {
            await cancel.CancelAsync(); // a failed assertion must not leave the loop waiting for a clock nobody advances
        }
    }

    [Fact]
    public void WaitWhilePaused_StopWhilePaused_ReturnsFalse()
    {
        using var steered = new SteeredLoop(options: FastPause);
        steered.Apply("train.pause");
        CommandSender.Enqueue(steered.QueueDirectory, "train.stop");

        var goOn = steered.Loop.WaitWhilePaused(steered.Loop);

        Assert.False(goOn);
        Assert.True(steered.Loop.StopRequested);
    }

    [Fact]
    public async Task WaitWhilePaused_CancelledWhileWaiting_ReturnsFalseAndStaysPaused()
    {
        // Arrange
        using var clock = new PauseClock();
        using var steered = new SteeredLoop(controllerOptions: new RuntimeControllerOptions { TimeProvider = clock });
        steered.Apply("train.pause");
        using var cancel = new CancellationTokenSource();
        var waiting = Task.Factory.StartNew(
            () => steered.Loop.WaitWhilePaused(steered.Loop, cancellationToken: cancel.Token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        clock.WaitUntilLoopWaits();

        // Act: the clock stands still, so only the cancellation can end the wait.
        await cancel.CancelAsync();
        var goOn = await waiting.WaitAsync(PauseClock.HangLimit);

        // Assert
        Assert.False(goOn);
        Assert.True(steered.Loop.IsPaused);
    }

    [Fact]
    public void WaitWhilePaused_ContextOfAnotherType_ThrowsNamingTheControllersContext()
    {
        // Arrange
        using var steered = new SteeredLoop();

        // Act
        var error = Assert.Throws<ArgumentException>(() => steered.Loop.WaitWhilePaused("not the loop"));

        // Assert
        Assert.Contains("RuntimeController<TorchSharpLoop>", error.Message, StringComparison.Ordinal);
        Assert.Contains("loop.WaitWhilePaused<TorchSharpLoop>(context)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaitWhilePaused_NoControlsRegistered_ReturnsTrue()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var model = nn.Linear(2, 1);
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        var loop = new TorchSharpLoop(model, optimizer);

        // Act
        var goOn = loop.WaitWhilePaused(loop);

        // Assert
        Assert.True(goOn);
    }

    [Fact]
    public void TrainPauseAndResume_Twice_AreIdempotent()
    {
        using var steered = new SteeredLoop();

        steered.Apply("train.pause");
        steered.Apply("train.pause");
        Assert.True(steered.Loop.IsPaused);
        steered.Apply("train.resume");
        steered.Apply("train.resume");

        Assert.False(steered.Loop.IsPaused);
    }

    [Fact]
    public void Step_Negative_Throws()
    {
        using var scope = NewDisposeScope();
        var model = nn.Linear(2, 1);
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        var loop = new TorchSharpLoop(model, optimizer);

        Assert.Throws<ArgumentOutOfRangeException>(() => loop.Step = -1);
    }

    [Fact]
    public void AddTorchSharpControls_InvalidOptions_ListsEveryProblem()
    {
        using var scope = NewDisposeScope();
        var model = nn.Linear(2, 1);
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        using var controller = new RuntimeController<object?>();

        var error = Assert.Throws<ArgumentException>(() => controller.AddTorchSharpControls(
            new TorchSharpLoop(model, optimizer),
            new TorchSharpControlsOptions { CheckpointRoot = " ", PausePollInterval = TimeSpan.Zero }));

        Assert.Contains("CheckpointRoot", error.Message, StringComparison.Ordinal);
        Assert.Contains("PausePollInterval", error.Message, StringComparison.Ordinal);
        Assert.Empty(controller.ControlPaths);
    }

    /// <summary>A fake clock that says when a timer of the pause poll interval is created: the paused loop waits for its next poll.</summary>
    private sealed class PauseClock : FakeTimeProvider, IDisposable
    {
        private readonly SemaphoreSlim _waits = new(0);

        /// <summary>Gets the default <see cref="TorchSharpControlsOptions.PausePollInterval"/>.</summary>
        public static TimeSpan Interval { get; } = new TorchSharpControlsOptions().PausePollInterval;

        /// <summary>Gets how long a test waits for what must happen: it only bounds a hang.</summary>
        public static TimeSpan HangLimit { get; } = TimeSpan.FromSeconds(30);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime == Interval)
            {
                _waits.Release();
            }

            return timer;
        }

        /// <summary>Blocks until the paused loop has armed its next wait on this clock.</summary>
        public void WaitUntilLoopWaits() => Assert.True(_waits.Wait(HangLimit), "the paused loop never waited on the controller's clock");

        public void Dispose() => _waits.Dispose();
    }
}
