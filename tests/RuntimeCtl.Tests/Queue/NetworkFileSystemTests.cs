using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Queue;

/// <summary>A queue directory on a real FUSE file system (bindfs) gets one warning, from the trainer and from <c>status</c>, unless silenced.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NetworkFileSystemTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void RemoteName_LocalDirectory_IsNull()
    {
        Directory.CreateDirectory(_q.Dir);

        Assert.Null(FileSystemKind.RemoteName(_q.Dir));
    }

    [RootFact("bindfs")]
    public void Configure_QueueOnFuse_WarnsOnceUnlessAllowed()
    {
        using var fuse = new BindMount(Path.Combine(_q.Root, "src"), Path.Combine(_q.Root, "fuse"));
        var queue = Path.Combine(fuse.Path, "q");
        Assert.Equal("FUSE", FileSystemKind.RemoteName(fuse.Path));

        var warned = new List<RuntimeDiagnostic>();
        using (var rt = Trainer.Create(queue, new RuntimeControllerOptions { OnDiagnostic = warned.Add }))
        {
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
            rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        var silent = new List<RuntimeDiagnostic>();
        using (Trainer.Create(queue, new RuntimeControllerOptions { OnDiagnostic = silent.Add, AllowNetworkFileSystem = true }))
        {
        }

        var warning = Assert.Single(warned, d => d.Code == "network-file-system");
        Assert.Contains("FUSE", warning.Message, StringComparison.Ordinal);
        Assert.Contains("local disk", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(silent, d => d.Code == "network-file-system");

        var status = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", queue, "status"], TimeSpan.FromMinutes(1));
        var quiet = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", queue, "status", "--allow-network-fs"], TimeSpan.FromMinutes(1));
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("FUSE file system", status.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, quiet.ExitCode);
        Assert.DoesNotContain("FUSE", quiet.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A FUSE mount of a directory (bindfs), unmounted at dispose.</summary>
    private sealed class BindMount : IDisposable
    {
        public BindMount(string source, string path)
        {
            Directory.CreateDirectory(source);
            File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.CreateDirectory(path);
            Path = path;
            ChildProcess.RunChecked("bindfs", source, path);
        }

        public string Path { get; }

        public void Dispose() => ChildProcess.RunChecked("umount", Path);
    }
}
