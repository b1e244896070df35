namespace RuntimeCtl.Tests.Status;

public sealed class ControllerSnapshotTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 5)]
    [InlineData(5.0 / 3, 5)]
    [InlineData(2, 6)]
    [InlineData(10, 30)]
    public void FreshnessWindow_IsThreeIntervalsButAtLeastFiveSeconds(double interval, double window)
    {
        Assert.Equal(window, Freshness.Window(interval).TotalSeconds, 9);
    }

    [Fact]
    public void IsFresh_TrainerDisposed_IsNotPollingAtOnce()
    {
        var rt = Trainer.Create(_q.Dir);
        rt.Dispose();

        var controller = ControllerSnapshot.TryRead(_q.Controller, out _);

        Assert.NotNull(controller);
        Assert.NotNull(controller.StoppedTs);
        Assert.False(controller.IsFresh(DateTimeOffset.UtcNow));
    }

    [Fact]
    public void TryRead_RealTrainersFile_HasEverything()
    {
        using var rt = Trainer.Create(_q.Dir);

        var controller = ControllerSnapshot.TryRead(_q.Controller, out var problem);

        Assert.Null(problem);
        Assert.NotNull(controller);
        Assert.Equal(Environment.ProcessId, controller.Pid);
        Assert.Equal(Environment.MachineName, controller.Host);
        Assert.True(controller.IsFresh(DateTimeOffset.UtcNow));
        Assert.False(controller.IsFresh(DateTimeOffset.UtcNow.AddMinutes(1)));
        Assert.True(controller.ListsControls);
        Assert.True(controller.HasControl("save_ckpt"));
        Assert.Equal(0, controller.CommandsLines);
        Assert.Equal(0, controller.AcksBytes);
        var save = controller.Controls.Single(c => c.Path == "save_ckpt");
        Assert.Equal([new ControlParameter("label", "string", Required: false, Keyword: true)], save.Parameters);
    }

    [Fact]
    public void UnknownPathRefusal_LiveTrainer_NamesTheClosestPathAndTheWayToForce()
    {
        using var rt = Trainer.Create(_q.Dir);
        var controller = ControllerSnapshot.TryRead(_q.Controller, out _)!;

        var refusal = controller.UnknownPathRefusal("optimizer.lr.multiplyer", "q", DateTimeOffset.UtcNow, "force it");

        Assert.Equal("the trainer on 'q' has no control 'optimizer.lr.multiplyer'. Did you mean 'optimizer.lr.multiplier'? Nothing was sent; force it.", refusal);
        Assert.Null(controller.UnknownPathRefusal("save_ckpt", "q", DateTimeOffset.UtcNow, "force it"));
        Assert.Null(controller.UnknownPathRefusal("nope", "q", DateTimeOffset.UtcNow.AddHours(1), "force it")); // not polling: not trusted
    }

    [Fact]
    public void TryRead_MissingFile_IsNullWithoutAProblem()
    {
        Assert.Null(ControllerSnapshot.TryRead(_q.Controller, out var problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1]")]
    public void TryRead_CorruptFile_IsNullWithTheProblem(string text)
    {
        _q.Create();
        File.WriteAllText(_q.Controller, text);

        Assert.Null(ControllerSnapshot.TryRead(_q.Controller, out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void TryRead_MinimalFile_HasDefaults()
    {
        _q.Create();
        var now = DateTimeOffset.UtcNow;
        File.WriteAllText(_q.Controller, "{\"last_poll_ts\":" + JsonFormat.UnixSeconds(now).ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "}");

        var controller = ControllerSnapshot.TryRead(_q.Controller, out _)!;

        Assert.False(controller.ListsControls);
        Assert.Empty(controller.Controls);
        Assert.Equal(0, controller.PollIntervalSeconds);
        Assert.True(controller.IsFresh(now));
    }

    [Theory]
    [InlineData(1e300)]
    [InlineData(60)]
    public void IsFresh_LastPollInTheFuture_IsNotFreshAndSaysTheClockLooksWrong(double secondsAhead)
    {
        _q.Create();
        var now = DateTimeOffset.UtcNow;
        var ts = secondsAhead > 1e9 ? secondsAhead : JsonFormat.UnixSeconds(now) + secondsAhead;
        File.WriteAllText(_q.Controller, "{\"pid\":1,\"last_poll_ts\":" + ts.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "}");

        var controller = ControllerSnapshot.TryRead(_q.Controller, out _)!;

        Assert.False(controller.IsFresh(now));
        Assert.Contains("in the future", TrainerReport.Describe(controller, now), StringComparison.Ordinal);
        Assert.Contains("clock", TrainerReport.Describe(controller, now), StringComparison.Ordinal);
    }

    [Fact]
    public void IsFresh_LastPollASecondAhead_StillFresh()
    {
        _q.Create();
        var now = DateTimeOffset.UtcNow;
        File.WriteAllText(_q.Controller, "{\"last_poll_ts\":" + (JsonFormat.UnixSeconds(now) + 1).ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "}");

        Assert.True(ControllerSnapshot.TryRead(_q.Controller, out _)!.IsFresh(now)); // two machines' clocks may differ a little
    }
}
