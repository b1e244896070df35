using System.Text.Json;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// The real trainer (QuickStart) under <c>strace --inject</c>: at every call N of every system call it makes on the
/// queue's files, one run gets ENOSPC, EIO or SIGKILL there, and a clean run follows. After each pair: no command
/// applied twice (QuickStart --record counts applications), none without its one ack, and every ack line valid.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FaultSweepTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Syscalls = ["openat", "pwrite64", "write", "ftruncate", "rename", "renameat", "unlinkat", "fsync", "fdatasync"];
    private static readonly string[] Faults = ["error=ENOSPC", "error=EIO", "signal=KILL"];
    private static readonly string[] QueueFiles = ["commands.jsonl", "acks.jsonl", "journal.bin", "cursor.json", "cursor.json.tmp", "controller.json", "controller.json.tmp", "commands.lock"];
    private static readonly string[] Labels = ["ck0", "ck1", "ck2", "ck3", "ck4"];

    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [RootFact("strace")]
    public void QuickStart_FaultAtEveryQueueSystemCall_NoCommandAppliedTwiceOrLeftWithoutItsAck()
    {
        var template = Path.Combine(_q.Root, "template");
        Assert.Equal(0, Run(QuickStart(template, null)).ExitCode); // the journal exists, as in any run after the first
        foreach (var label in Labels)
        {
            CommandSender.Enqueue(template, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = label });
        }

        CommandSender.Enqueue(template, "model.dropout.p", [1.5]); // refused by its validator: a failed ack

        var calls = CountCalls(template);
        output.WriteLine("calls on queue files per thread (max): " + string.Join(", ", calls.Select(c => $"{c.Key} {c.Value}")));
        var points = 0;
        var failures = new List<string>();
        var run = 0;
        foreach (var (syscall, count) in calls)
        {
            for (var n = 1; n <= count; n++)
            {
                foreach (var fault in Faults)
                {
                    var dir = Copy(template, Path.Combine(_q.Root, $"run{run++}"));
                    var record = Path.Combine(_q.Root, $"record{run}.txt");
                    var traceFile = Path.Combine(_q.Root, $"trace{run}.txt");
                    var faulty = Run(Strace(dir, record, traceFile, syscall, $"-e inject={syscall}:{fault}:when={n}"));
                    var trace = File.ReadAllText(traceFile);
                    if (!trace.Contains("(INJECTED)", StringComparison.Ordinal) && !trace.Contains("killed by SIGKILL", StringComparison.Ordinal))
                    {
                        continue; // that thread made fewer calls: no point here
                    }

                    points++;
                    var point = $"{syscall} #{n} {fault}";
                    // The one error allowed to end the program: the queue directory itself cannot be opened at start,
                    // and Configure says so (QuickStart exits 2 with the message) before any training step.
                    var refusedAtStart = faulty.ExitCode == 2 && faulty.Stderr.Contains("Cannot open the directory", StringComparison.Ordinal);
                    if (!fault.StartsWith("signal", StringComparison.Ordinal) && faulty.ExitCode != 0 && !refusedAtStart)
                    {
                        failures.Add($"{point}: the trainer died (exit {faulty.ExitCode}): {faulty.Stderr}");
                    }

                    var clean = Run(QuickStart(dir, record));
                    if (clean.ExitCode != 0)
                    {
                        failures.Add($"{point}: the clean restart failed (exit {clean.ExitCode}): {clean.Stderr}");
                    }

                    failures.AddRange(Check(dir, record).Select(f => $"{point}: {f}"));
                    Directory.Delete(dir, recursive: true);
                }
            }
        }

        output.WriteLine($"fault sweep: {points} injection points, {failures.Count} failures");
        foreach (var failure in failures)
        {
            output.WriteLine(failure);
        }

        Assert.True(points >= 40, $"only {points} injection points were hit");
        Assert.Empty(failures);
    }

    [RootFact("strace")]
    public void QuickStart_Durability_PowerLossSafeSyncsEachRecordAndKillSafeNever()
    {
        var calls = new Dictionary<bool, int>();
        foreach (var powerLossSafe in (bool[])[false, true])
        {
            var dir = Path.Combine(_q.Root, powerLossSafe ? "power" : "kill");
            Assert.Equal(0, Run(QuickStart(dir, null)).ExitCode); // reserves the journal (a one-time sync)
            foreach (var label in Labels)
            {
                CommandSender.Enqueue(dir, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = label });
            }

            var traceFile = Path.Combine(_q.Root, $"sync-{powerLossSafe}.txt");
            Assert.Equal(0, Run(Strace(dir, Path.Combine(_q.Root, "sync-record.txt"), traceFile, "fsync,fdatasync", string.Empty, powerLossSafe ? ["--power-loss-safe"] : [])).ExitCode);
            calls[powerLossSafe] = File.ReadAllLines(traceFile).Count(l => l.Contains("sync(", StringComparison.Ordinal));
        }

        output.WriteLine($"syncs of queue files for {Labels.Length} commands: KillSafe {calls[false]}, PowerLossSafe {calls[true]}");
        Assert.Equal(0, calls[false]);
        Assert.True(calls[true] >= Labels.Length + 1, $"PowerLossSafe synced {calls[true]} times for {Labels.Length} commands");
    }

    /// <summary>The invariants after a faulty run and a clean one.</summary>
    private static IEnumerable<string> Check(string dir, string record)
    {
        var applied = File.Exists(record) ? File.ReadAllLines(record).ToList() : [];
        foreach (var twice in applied.GroupBy(l => l).Where(g => g.Count() > 1))
        {
            yield return $"{twice.Key} applied {twice.Count()} times";
        }

        var ids = File.ReadAllLines(Path.Combine(dir, "commands.jsonl")).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToDictionary(c => c.GetProperty("id").GetString()!);
        var acks = new List<JsonElement>();
        foreach (var line in File.ReadAllLines(Path.Combine(dir, "acks.jsonl")))
        {
            JsonElement? ack = null;
            try
            {
                ack = JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException)
            {
            }

            if (ack is { } a)
            {
                acks.Add(a);
            }
            else
            {
                yield return $"invalid ack line: {line}";
            }
        }

        var acked = acks.Select(a => a.GetProperty("id").GetString()!).ToList();
        foreach (var id in ids.Keys.Except(acked))
        {
            yield return $"{id} has no ack";
        }

        foreach (var id in acked.GroupBy(i => i).Where(g => g.Count() > 1))
        {
            yield return $"{id.Key} acked {id.Count()} times";
        }

        foreach (var ack in acks)
        {
            var status = ack.GetProperty("status").GetString();
            var path = ack.GetProperty("path").GetString();
            var error = ack.TryGetProperty("error", out var e) ? e.GetString() ?? string.Empty : string.Empty;
            if (status == "applied" && path == "save_ckpt" && applied.Count(l => l == ack.GetProperty("kwargs").GetProperty("label").GetString()) != 1)
            {
                yield return $"{ack.GetProperty("id")} is acked applied but its control did not run exactly once";
            }

            if (status == "failed" && !error.Contains("effect is unknown", StringComparison.Ordinal) && !error.Contains("dropout p", StringComparison.Ordinal))
            {
                yield return $"unexpected failure: {error}";
            }
        }
    }

    private Dictionary<string, int> CountCalls(string template)
    {
        var dir = Copy(template, Path.Combine(_q.Root, "count"));
        var traceFile = Path.Combine(_q.Root, "count.txt");
        Assert.Equal(0, Run(Strace(dir, Path.Combine(_q.Root, "count-record.txt"), traceFile, string.Join(',', Syscalls), string.Empty)).ExitCode);
        var calls = File.ReadAllLines(traceFile)
            .Select(l => l.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 2 && p[1].Contains('(', StringComparison.Ordinal))
            .Select(p => (Thread: p[0], Syscall: p[1][..p[1].IndexOf('(', StringComparison.Ordinal)]))
            .GroupBy(c => c.Syscall)
            .ToDictionary(g => g.Key, g => g.GroupBy(c => c.Thread).Max(t => t.Count()));
        Directory.Delete(dir, recursive: true);
        return calls;
    }

    /// <summary>The command line of a QuickStart run that applies what is queued and ends.</summary>
    private static string[] QuickStart(string dir, string? record, params string[] more) =>
        [TestPaths.DotnetHost, "exec", TestPaths.QuickStart, "--queue", dir, "--once", .. record is null ? [] : (string[])["--record", record], .. more];

    /// <summary>The command line of that run under strace, tracing <paramref name="trace"/> on the queue files only.</summary>
    private static string[] Strace(string dir, string record, string traceFile, string trace, string inject, params string[] more)
    {
        // The directory too: its files are opened, renamed and removed relative to its descriptor (openat, renameat).
        var paths = QueueFiles.Prepend(string.Empty).SelectMany(file => (string[])["-P", file.Length == 0 ? dir : Path.Combine(dir, file)]);
        return ["strace", "-f", "-qq", "-o", traceFile, "-e", $"trace={trace}", .. inject.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries), .. paths, .. QuickStart(dir, record, more)];
    }

    private static ProcessResult Run(string[] command) => ChildProcess.Run(command[0], command[1..], TimeSpan.FromMinutes(1));

    private static string Copy(string from, string to)
    {
        Directory.CreateDirectory(to, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        return to;
    }
}
