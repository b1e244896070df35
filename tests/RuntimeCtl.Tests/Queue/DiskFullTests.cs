using System.Text.Json;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// The queue on a real full file system (a size-limited tmpfs): the trainer never dies of it, no command is applied
/// twice over all runs, every command is acked exactly once when space comes back, and the CLI never queues a
/// partial line.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DiskFullTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [RootFact]
    public void PollAndApply_DiskFullAfterTheJournalWasReserved_EachCommandAppliedOnceOverAllRunsAndAckedOnce()
    {
        using var disk = new TmpfsMount(Path.Combine(_q.Root, "mnt"), "4m");
        var queue = Path.Combine(disk.Path, "q");
        var record = Path.Combine(_q.Root, "applied.txt");
        Assert.Equal(0, QuickStartOnce(queue, record).ExitCode); // a first run reserves the journal
        var labels = Enumerable.Range(0, 6).Select(i => $"ck{i}-" + new string('x', 1000)).ToList();
        foreach (var label in labels)
        {
            CommandSender.Enqueue(queue, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = label });
        }

        disk.Fill();
        var full = QuickStartOnce(queue, record);
        output.WriteLine($"run on the full disk: exit {full.ExitCode}, applied {Applied(record).Count}, acks {Acks(queue).Count}; stderr: {full.Stderr}");
        Assert.Equal(0, full.ExitCode);
        Assert.Equal(labels, Applied(record)); // applied while the acks could not be written
        Assert.Empty(Acks(queue));
        Assert.Contains("applied but not acked", full.Stderr, StringComparison.Ordinal);

        var stillFull = QuickStartOnce(queue, record);
        Assert.Equal(0, stillFull.ExitCode);
        Assert.Equal(labels, Applied(record)); // nothing applied again while the acks are still unwritten

        disk.Free();
        var freed = QuickStartOnce(queue, record);
        Assert.Equal(0, freed.ExitCode);
        var again = QuickStartOnce(queue, record);
        Assert.Equal(0, again.ExitCode);

        Assert.Equal(labels, Applied(record)); // each applied once over four runs
        var acks = Acks(queue);
        output.WriteLine($"after freeing: applied {Applied(record).Count} times in all, {acks.Count} acks");
        Assert.Equal(labels, acks.Select(a => a.GetProperty("kwargs").GetProperty("label").GetString()));
        Assert.All(acks, a => Assert.Equal("applied", a.GetProperty("status").GetString()));
        Assert.Equal(CommandIds(queue), acks.Select(a => a.GetProperty("id").GetString()!));
    }

    [RootFact]
    public void PollAndApply_DiskFullBeforeTheFirstRun_AppliesNothingUntilSpaceComesBackThenEachOnce()
    {
        using var disk = new TmpfsMount(Path.Combine(_q.Root, "mnt"), "4m");
        var queue = Path.Combine(disk.Path, "q");
        var record = Path.Combine(_q.Root, "applied.txt");
        for (var i = 0; i < 4; i++)
        {
            CommandSender.Enqueue(queue, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = $"ck{i}" });
        }

        disk.Fill();
        var full = QuickStartOnce(queue, record);
        Assert.Equal(0, full.ExitCode);
        Assert.Empty(Applied(record)); // no space for the write-ahead journal: nothing runs unrecorded
        Assert.Contains("journal", full.Stderr, StringComparison.Ordinal);

        disk.Free();
        Assert.Equal(0, QuickStartOnce(queue, record).ExitCode);
        Assert.Equal(0, QuickStartOnce(queue, record).ExitCode);

        Assert.Equal(["ck0", "ck1", "ck2", "ck3"], Applied(record));
        Assert.Equal(CommandIds(queue), Acks(queue).Select(a => a.GetProperty("id").GetString()!));
    }

    [RootFact]
    public void Cli_DiskFull_ExitsNonZeroNamingTheProblemAndQueuesNoPartialLine()
    {
        using var disk = new TmpfsMount(Path.Combine(_q.Root, "mnt"), "1m");
        var queue = Path.Combine(disk.Path, "q");
        CommandSender.Enqueue(queue, "save_ckpt");
        disk.Fill();

        // The file's last page may still hold a few lines; send until the disk refuses.
        var sent = 1;
        ProcessResult result;
        while ((result = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", queue, "--force", "save_ckpt", "--kwargs", JsonSerializer.Serialize(new Dictionary<string, string> { ["label"] = new string('y', 900) })], TimeSpan.FromMinutes(1))).ExitCode == 0 && sent <= 20)
        {
            sent++;
        }

        output.WriteLine($"{sent} lines sent before the disk refused; exit {result.ExitCode}; stderr: {result.Stderr}");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("No space left on device", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stdout); // never reports a command it did not write
        var text = File.ReadAllText(Path.Combine(queue, "commands.jsonl"));
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(sent, lines.Length);
        Assert.All(lines, l => JsonDocument.Parse(l).Dispose());
    }

    private static ProcessResult QuickStartOnce(string queue, string record) =>
        ChildProcess.RunDotnet(TestPaths.QuickStart, ["--queue", queue, "--once", "--record", record], TimeSpan.FromMinutes(1));

    private static List<string> Applied(string record) => File.Exists(record) ? [.. File.ReadAllLines(record)] : [];

    private static List<JsonElement> Acks(string queue)
    {
        var path = Path.Combine(queue, "acks.jsonl");
        return File.Exists(path) ? File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList() : [];
    }

    private static List<string> CommandIds(string queue) =>
        File.ReadAllLines(Path.Combine(queue, "commands.jsonl")).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).ToList();
}
