namespace RuntimeCtl.Tests.Queue;

/// <summary>The queue directory: owner-only files, refusal of queues others can write.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class QueueDirectoryTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Configure_NewDirectory_IsOwnerOnlyWithOwnerOnlyFiles()
    {
        using var rt = Trainer.Create(_q.Dir);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_q.Dir));
        foreach (var file in new[] { "commands.jsonl", "acks.jsonl", "controller.json" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_q.Dir, file)));
        }
    }

    [Fact]
    public void Configure_WorldWritableDirectory_IsRefusedEvenWhenShared()
    {
        Directory.CreateDirectory(_q.Dir);
        File.SetUnixFileMode(_q.Dir, (UnixFileMode)0b111_111_111);

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir, new RuntimeControllerOptions { AllowSharedQueue = true }));

        Assert.Contains("every user", e.Message);
        Assert.Contains("chmod", e.Message);
    }

    [Fact]
    public void Configure_GroupWritableDirectory_IsRefusedUnlessShared()
    {
        Directory.CreateDirectory(_q.Dir);
        File.SetUnixFileMode(_q.Dir, (UnixFileMode)0b111_111_000);

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir));
        using var shared = Trainer.Create(_q.Dir, new RuntimeControllerOptions { AllowSharedQueue = true });

        Assert.Contains("allowSharedQueue", e.Message);
        Assert.Equal(_q.Dir, shared.QueueDirectory);
    }

    [Fact]
    public void Configure_CommandsFileIsSymlink_IsRefused()
    {
        Directory.CreateDirectory(_q.Dir);
        File.SetUnixFileMode(_q.Dir, (UnixFileMode)0b111_000_000);
        var target = Path.Combine(_q.Root, "elsewhere.jsonl");
        File.WriteAllText(target, string.Empty);
        File.CreateSymbolicLink(_q.Commands, target);

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir));

        Assert.Contains("symbolic link", e.Message);
    }

    [Fact]
    public void Configure_CommandsFileIsDirectory_IsRefused()
    {
        Directory.CreateDirectory(_q.Commands);

        var e = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir));

        Assert.Contains("not a regular file", e.Message);
    }

    [Fact]
    public void Enqueue_WorldWritableDirectory_IsRefused()
    {
        Directory.CreateDirectory(_q.Dir);
        File.SetUnixFileMode(_q.Dir, (UnixFileMode)0b111_111_111);

        Assert.Throws<QueueConfigurationException>(() => CommandSender.Enqueue(_q.Dir, "x"));
        Assert.False(File.Exists(_q.Commands));
    }
}
