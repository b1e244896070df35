using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

[SupportedOSPlatform("linux")]
public sealed partial class SendCommandTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [GeneratedRegex("""^\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}","ts":\d+\.\d+,""")]
    private static partial Regex IdAndTimestamp();

    private static string WithoutIdAndTimestamp(string line)
    {
        Assert.Matches(IdAndTimestamp(), line);
        return IdAndTimestamp().Replace(line, "{");
    }

    [Fact]
    public void Run_Send_LineIsByteForByteTheLibrarysSerialization()
    {
        var result = InProcess.Run("-q", _q.Dir, "save_ckpt", "grüße", "-0.5", "[1,{\"a\":null}]", "--kwargs", """{"label":"manual","n":1.50}""", "--at-step", "7");

        var library = CommandSender.Enqueue(
            _q.Dir,
            "save_ckpt",
            ["grüße", TempQueueDirectory.Parse("-0.5"), TempQueueDirectory.Parse("[1,{\"a\":null}]")],
            [new("label", "manual"), new("n", TempQueueDirectory.Parse("1.50"))],
            new EnqueueOptions { AtStep = 7, DryRun = true });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(WithoutIdAndTimestamp(library.Line), WithoutIdAndTimestamp(result.StdoutLines[0]));
    }

    [Fact]
    public void Run_Send_HasTheSameKeysAndShapeAsEnqueue()
    {
        using var other = new TempQueueDirectory();
        var cli = InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplier", "0.5").StdoutLines[0];

        var enqueued = CommandSender.Enqueue(other.Dir, "optimizer.lr.multiplier", [0.5]).Line;

        Assert.Equal(["id", "ts", "op", "path", "args", "kwargs"], TempQueueDirectory.Keys(TempQueueDirectory.Parse(cli)));
        Assert.Equal(WithoutIdAndTimestamp(enqueued), WithoutIdAndTimestamp(cli));
        Assert.Equal(WithoutIdAndTimestamp(Assert.Single(other.CommandLines())), WithoutIdAndTimestamp(Assert.Single(_q.CommandLines())));
    }

    [Fact]
    public void Run_Send_PrintsTheLineWrittenToTheQueue()
    {
        var result = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.2");

        Assert.Equal(result.StdoutLines[0] + "\n", File.ReadAllText(_q.Commands));
    }

    [Fact]
    public void Run_TornLastLine_IsTerminatedBeforeTheCommand()
    {
        _q.AppendRaw("""{"id":"torn","pa""");

        var result = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.2");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["""{"id":"torn","pa""", result.StdoutLines[0]], _q.CommandLines());
    }

    [Fact]
    public void Run_UnknownPathWithLiveTrainer_IsRefusedWithTheClosestNames()
    {
        using (Trainer.Create(_q.Dir))
        {
            var result = InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplir", "0.5");

            Assert.Equal(2, result.ExitCode);
            Assert.Equal(string.Empty, result.Stdout);
            Assert.Contains("has no control 'optimizer.lr.multiplir'", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("Did you mean 'optimizer.lr.multiplier'?", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("--force", result.Stderr, StringComparison.Ordinal);
            Assert.Empty(_q.CommandLines());
        }
    }

    [Fact]
    public void Run_UnknownPathWithNothingClose_ListsTheControls()
    {
        _q.WriteController(ageSeconds: 0.5);

        var result = InProcess.Run("-q", _q.Dir, "zzz", "1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("optimizer.lr.multiplier, model.dropout.p, save_ckpt", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_UnknownPathWithForce_IsSent()
    {
        _q.WriteController(ageSeconds: 0.5);

        var result = InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplir", "0.5", "--force");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("optimizer.lr.multiplir", Assert.Single(_q.CommandObjects()).GetProperty("path").GetString());
    }

    [Fact]
    public void Run_KnownPathWithLiveTrainer_IsSent()
    {
        _q.WriteController(ageSeconds: 0.5);

        var result = InProcess.Run("-q", _q.Dir, "save_ckpt");

        Assert.Equal(0, result.ExitCode);
        Assert.Single(_q.CommandLines());
    }

    [Theory]
    [InlineData(6, 1)]
    [InlineData(31, 10)]
    public void Run_UnknownPathWithTrainerNotPolling_IsSentAsTheOriginalDoes(double ageSeconds, double interval)
    {
        _q.WriteController(ageSeconds, interval);

        var result = InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplir", "0.5");

        Assert.Equal(0, result.ExitCode);
        Assert.Single(_q.CommandLines());
    }

    [Theory]
    [InlineData(4.5, 1)]
    [InlineData(29, 10)]
    public void Run_UnknownPathWithinFreshnessWindow_IsRefused(double ageSeconds, double interval)
    {
        _q.WriteController(ageSeconds, interval);

        var result = InProcess.Run("-q", _q.Dir, "nope", "0.5");

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(_q.CommandLines());
    }

    [Fact]
    public void Run_CorruptControllerFile_SendsAsTheOriginalDoes()
    {
        _q.Create();
        File.WriteAllText(_q.Controller, "{not json");

        var result = InProcess.Run("-q", _q.Dir, "anything", "1");

        Assert.Equal(0, result.ExitCode);
        Assert.Single(_q.CommandLines());
    }

    [Fact]
    public void Run_WorldWritableQueueDirectory_IsRefusedWithTheFix()
    {
        _q.Create();
        File.SetUnixFileMode(_q.Dir, (UnixFileMode)0b111_111_111);

        var result = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.2", "--allow-shared");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("chmod o-w", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [Fact]
    public void Run_GroupWritableQueueDirectory_NeedsAllowShared()
    {
        _q.Create();
        File.SetUnixFileMode(_q.Dir, (UnixFileMode)0b111_111_000);

        var refused = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.2");
        var allowed = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.2", "--allow-shared");

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--allow-shared", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, allowed.ExitCode);
        Assert.Single(_q.CommandLines());
    }

    [Fact]
    public void Run_SymlinkedCommandsFile_IsRefused()
    {
        _q.Create();
        var target = Path.Combine(_q.Root, "elsewhere.jsonl");
        File.WriteAllText(target, string.Empty);
        File.CreateSymbolicLink(_q.Commands, target);

        var result = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.2");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("symbolic link", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, File.ReadAllText(target));
    }

    [Fact]
    public void Run_NewQueueDirectory_IsCreatedOwnerOnly()
    {
        var result = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.2");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_q.Dir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_q.Commands));
    }

    [Fact]
    public void Run_SentCommand_IsAppliedByTheLibrarysTrainer()
    {
        InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplier", "0.5");
        InProcess.Run("-q", _q.Dir, "save_ckpt", "--kwargs", """{"label":"manual"}""");
        var state = new TrainState();

        var acks = Trainer.Drain(_q.Dir, state);

        Assert.All(acks, a => Assert.Equal(AckStatus.Applied, a.Status));
        Assert.Equal(5e-4, state.Lr, 12);
        Assert.Equal(["manual"], state.Ckpts);
    }

    [Fact]
    public void Run_ValueTheTrainerWouldReject_IsRefusedBeforeQueuing()
    {
        var result = InProcess.Run("-q", _q.Dir, "--force", "model.dropout.p", "1e999", "--wait", "--timeout", "1");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("the trainer would reject this command", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.False(File.Exists(_q.Commands) && new FileInfo(_q.Commands).Length > 0);
    }

    [Fact]
    public void Run_LineOverTheLimitTheTrainerPublishes_IsRefusedBeforeQueuing()
    {
        using (var rt = new RuntimeController<TrainState>(new RuntimeControllerOptions { MaxLineBytes = 1024, OnDiagnostic = _ => { } }))
        {
            rt.Register("save_ckpt", (TrainState _) => { });
            rt.Configure(_q.Dir);
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);

            var result = InProcess.Run("-q", _q.Dir, "save_ckpt", "--kwargs", "{\"label\":\"" + new string('x', 2000) + "\"}");

            Assert.Equal(ExitCodes.Usage, result.ExitCode);
            Assert.Contains("over the trainer's limit of 1024 bytes", result.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Run_LineOverTheTrainersLimitWithWait_FindsTheRejectionUnderTheTrainersGeneratedId()
    {
        using var rt = new RuntimeController<TrainState>(new RuntimeControllerOptions { MaxLineBytes = 1024, OnDiagnostic = _ => { } });
        rt.Register("save_ckpt", (TrainState _) => { });
        rt.Configure(_q.Dir);
        File.Delete(_q.Controller); // a sender that does not know the trainer's limit

        var send = Task.Run(() => InProcess.Run("-q", _q.Dir, "--force", "save_ckpt", "--kwargs", "{\"label\":\"" + new string('x', 2000) + "\"}", "--wait", "--timeout", "20"));
        IReadOnlyList<Ack> acks = [];
        for (var i = 0; i < 400 && acks.Count == 0; i++)
        {
            await Task.Delay(50);
            acks = rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        var result = await send;
        Assert.Equal(ExitCodes.Rejected, result.ExitCode); // not a timeout: the rejection was matched to this sender
        Assert.Contains("over the limit", result.StdoutLines[^1], StringComparison.Ordinal);
    }
}
