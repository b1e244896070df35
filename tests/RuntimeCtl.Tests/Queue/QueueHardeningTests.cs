using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// The security review's findings on the queue directory, each as an attack with real files: another user's directory,
/// symlinks planted where the trainer writes, a swapped directory, writable files, FIFOs, and refusal before touching.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class QueueHardeningTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const int Nobody = 65534;
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [RootFact]
    public void Configure_DirectoryOfAnotherUserAsRoot_RefusesSayingHowToFix()
    {
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        Chown(_q.Dir, Nobody);

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir));

        Assert.Contains("belongs to another user (uid 65534)", e.Message, StringComparison.Ordinal);
        Assert.Contains("chown root", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands)); // refused before creating anything
    }

    [RootFact]
    public void Cli_ForgedAckInAnotherUsersDirectoryAsRoot_IsNotBelieved()
    {
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        File.WriteAllText(_q.Acks, string.Empty);
        Chown(_q.Dir, Nobody);
        Chown(_q.Acks, Nobody);

        // The other user answers every id with a forged "applied" ack; a root sender must not queue nor wait.
        var result = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", _q.Dir, "--force", "save_ckpt", "--wait", "--timeout", "3"], TimeSpan.FromMinutes(1));

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("belongs to another user", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [RootFact]
    public void Cli_StatusAndControlsOnAnotherUsersDirectory_WarnThatItsContentsAreNotTrusted()
    {
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        File.WriteAllText(Path.Combine(_q.Dir, "controller.json"), "{\"controls\":[]}");
        File.WriteAllText(_q.Commands, string.Empty);
        File.WriteAllText(_q.Acks, string.Empty);
        Chown(_q.Dir, Nobody);

        var status = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", _q.Dir, "status"], TimeSpan.FromMinutes(1));
        var controls = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", _q.Dir, "controls"], TimeSpan.FromMinutes(1));

        Assert.Contains("belongs to another user (uid 65534): its contents (acks, controller.json) are not trusted", status.Stderr, StringComparison.Ordinal);
        Assert.Contains("are not trusted", controls.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("controller.json.tmp")]
    [InlineData("cursor.json.tmp")]
    [InlineData("metrics.jsonl")]
    public void PollAndApply_SymlinkPlantedAtAFileTheTrainerWrites_IsNeverWrittenThrough(string name)
    {
        Directory.CreateDirectory(_q.Root);
        var target = Path.Combine(_q.Root, "victim.txt");
        File.WriteAllText(target, "precious");
        using (var rt = Trainer.Create(_q.Dir))
        {
            File.CreateSymbolicLink(Path.Combine(_q.Dir, name), target);
            _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.3]}""");
            rt.PollAndApply(new TrainState(), TimeSpan.Zero); // writes acks and cursor.json (through cursor.json.tmp)
            rt.Report(1, "loss", 0.5);
            rt.FlushMetrics();
        }

        // Dispose rewrote controller.json (through controller.json.tmp).
        Assert.Equal("precious", File.ReadAllText(target));
        Assert.Single(_q.ReadAcks());
    }

    [Fact]
    public void Enqueue_SymlinkPlantedAtTheLock_FailsAtOnceWithoutTouchingItsTarget()
    {
        Directory.CreateDirectory(_q.Root);
        var target = Path.Combine(_q.Root, "victim.txt");
        File.WriteAllText(target, "precious");
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        File.CreateSymbolicLink(Path.Combine(_q.Dir, "commands.lock"), target);

        var e = Assert.Throws<QueueConfigurationException>(() => CommandSender.Enqueue(_q.Dir, "save_ckpt"));

        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(target));
    }

    [Fact]
    public void Configure_ParentWritableByEveryone_RefusesUnlessSticky()
    {
        var parent = Path.Combine(_q.Root, "par");
        Directory.CreateDirectory(parent);
        File.SetUnixFileMode(parent, (UnixFileMode)0x1FF); // 0777, not sticky
        var queue = Path.Combine(parent, "q");

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(queue));
        Assert.Contains("which other users can write", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(queue)); // refused before creating anything

        File.SetUnixFileMode(parent, (UnixFileMode)0x3FF); // 1777, as /tmp
        using var rt = Trainer.Create(queue);
        Assert.True(File.Exists(Path.Combine(queue, "commands.jsonl")));
    }

    [Fact]
    public void PollAndApply_QueueDirectorySwappedWhileRunning_KeepsTheDirectoryItOpenedAndSaysSo()
    {
        var diagnostics = new List<RuntimeDiagnostic>();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { OnDiagnostic = diagnostics.Add, TimeProvider = time });
        var state = new TrainState();
        rt.PollAndApply(state, TimeSpan.Zero);

        // An attacker who controls the parent moves the queue away and puts their own in its place.
        var moved = _q.Dir + ".moved";
        Directory.Move(_q.Dir, moved);
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        File.WriteAllText(_q.Commands, """{"id":"evil","path":"model.dropout.p","args":[0.9]}""" + "\n");
        File.AppendAllText(Path.Combine(moved, "commands.jsonl"), """{"id":"good","path":"model.dropout.p","args":[0.2]}""" + "\n");
        time.Advance(TimeSpan.FromSeconds(2));
        var acks = rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(["good"], acks.Select(a => a.Id));
        Assert.Equal(0.2, state.Dropout);
        Assert.Contains(diagnostics, d => d.Code == "queue-directory-replaced");
        Assert.False(File.Exists(_q.Acks)); // nothing written into the planted directory
    }

    [Fact]
    public void PollAndApply_AcksFileReplacedWhileRunning_WritesToTheFileAtThePathAndSaysSo()
    {
        var diagnostics = new List<RuntimeDiagnostic>();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { OnDiagnostic = diagnostics.Add });
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.3]}""");
        rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        var fresh = _q.Acks + ".new";
        File.WriteAllText(fresh, string.Empty);
        File.SetUnixFileMode(fresh, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(fresh, _q.Acks, overwrite: true);
        _q.AppendLine("""{"id":"b","path":"model.dropout.p","args":[0.4]}""");
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.5]}""");
        rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        Assert.Equal(["b:applied", "a:rejected"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString() + ":" + a.GetProperty("status").GetString()));
        Assert.Contains(diagnostics, d => d.Code == "acks-replaced");
    }

    [Theory]
    [InlineData("commands.jsonl", 0x1B6, false)] // 0666
    [InlineData("commands.jsonl", 0x1B0, false)] // 0660
    [InlineData("acks.jsonl", 0x1B2, false)] // 0662
    public void Configure_QueueFileWritableByOthers_Refuses(string name, int mode, bool allowShared)
    {
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        var path = Path.Combine(_q.Dir, name);
        File.WriteAllText(path, string.Empty);
        File.SetUnixFileMode(path, (UnixFileMode)mode);

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir, new RuntimeControllerOptions { AllowSharedQueue = allowShared, OnDiagnostic = _ => { } }));

        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configure_GroupWritableFileWithAllowShared_IsAcceptedAsItIs()
    {
        // Arrange: a team's commands file, group-writable, with a command in it already.
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        File.WriteAllText(_q.Commands, """{"id":"team","path":"model.dropout.p","args":[0.2]}""" + "\n");
        File.SetUnixFileMode(_q.Commands, (UnixFileMode)0x1B0); // 0660
        var state = new TrainState();

        // Act
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { AllowSharedQueue = true, OnDiagnostic = _ => { } });
        var acks = rt.PollAndApply(state, TimeSpan.Zero);

        // Assert: the file is read as it was (neither replaced nor made owner-only) and its command applied.
        Assert.Equal(["team:Applied"], acks.Select(a => $"{a.Id}:{a.Status}"));
        Assert.Equal(0.2, state.Dropout);
        Assert.Equal((UnixFileMode)0x1B0, File.GetUnixFileMode(_q.Commands));
    }

    [Fact]
    public async Task Report_FifoAtMetricsFile_NeitherBlocksNorThrowsAndWritesOnceItIsAFileAgain()
    {
        // Arrange
        using var rt = Trainer.Create(_q.Dir);
        var metrics = Path.Combine(_q.Dir, "metrics.jsonl");
        MakeFifo(metrics);

        // Act: a report into the FIFO (no reader: a blocking open would hang), then one after it is removed.
        var report = Task.Run(() =>
        {
            rt.Report(1, "loss", 0.5);
            rt.FlushMetrics();
        });
        Assert.Same(report, await Task.WhenAny(report, Task.Delay(TimeSpan.FromSeconds(20))));
        await report;
        var stillFifo = UnixFileStatus.TryStat(metrics, out var status) && (status.Mode & 0xF000) == 0x1000; // S_IFIFO
        File.Delete(metrics);
        rt.Report(2, "loss", 0.25);
        rt.FlushMetrics();

        // Assert: the point for the FIFO was dropped (the FIFO left alone); the next one went into a new file.
        Assert.True(stillFifo);
        var point = TempQueueDirectory.Parse(Assert.Single(File.ReadAllLines(metrics)));
        Assert.Equal(2, point.GetProperty("step").GetInt64());
        Assert.Equal(0.25, point.GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task PollAndApply_CommandsFileReplacedByAFifo_NeitherBlocksNorThrowsAndResumesOnAFile()
    {
        // Arrange
        var diagnostics = new List<RuntimeDiagnostic>();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { OnDiagnostic = diagnostics.Add, TimeProvider = time });
        rt.PollAndApply(state, TimeSpan.Zero);
        File.Delete(_q.Commands);
        MakeFifo(_q.Commands);
        time.Advance(TimeSpan.FromSeconds(2));

        // Act: a poll of the FIFO (no writer: a blocking open would hang), then one after it is a file again.
        var poll = Task.Run(() => rt.PollAndApply(state, TimeSpan.Zero));
        Assert.Same(poll, await Task.WhenAny(poll, Task.Delay(TimeSpan.FromSeconds(20))));
        var fromFifo = await poll;
        File.Delete(_q.Commands);
        _q.AppendLine("""{"id":"after","path":"model.dropout.p","args":[0.4]}""");
        time.Advance(TimeSpan.FromSeconds(2));
        var fromFile = rt.PollAndApply(state, TimeSpan.Zero);

        // Assert
        Assert.Empty(fromFifo);
        Assert.Equal(["after"], fromFile.Select(a => a.Id));
        Assert.Contains(diagnostics, d => d.Code == "commands-replaced");
        Assert.Equal(0.4, state.Dropout);
    }

    [Fact]
    public void Configure_SymlinkedCommandsFile_RefusesBeforeCreatingAnything()
    {
        Directory.CreateDirectory(_q.Dir, OwnerOnly);
        var target = Path.Combine(_q.Root, "elsewhere.jsonl");
        File.WriteAllText(target, string.Empty);
        File.CreateSymbolicLink(_q.Commands, target);
        var before = Directory.GetFileSystemEntries(_q.Dir).Order().ToArray();

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir));

        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFileSystemEntries(_q.Dir).Order().ToArray()); // no acks.jsonl, no journal
    }

    private static void MakeFifo(string path) => ChildProcess.RunChecked("mkfifo", "-m", "600", path);

    private static void Chown(string path, int uid) => ChildProcess.RunChecked("chown", uid.ToString(System.Globalization.CultureInfo.InvariantCulture), path);
}
