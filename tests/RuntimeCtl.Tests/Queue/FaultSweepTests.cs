using System.Diagnostics;
using System.Text.Json;
using RuntimeCtl.Tests.Support;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// The real trainer (QuickStart) under <c>strace --inject</c>: at every call N of every system call it makes on the
/// queue's files, one run gets ENOSPC, EIO or SIGKILL there, and a clean run follows. After each pair: no command
/// applied twice (QuickStart --record counts applications), none without its one ack, and every ack line valid.
/// The journal's records are copied into a mapping of <c>journal.bin</c> (no system call) where that is safe, and
/// written with <c>pwrite</c> elsewhere: the sweep covers its <c>mmap</c>, and sweeps <c>pwrite64</c> a second time
/// with that <c>mmap</c> failing, so that the journal's writes are among the calls faulted.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FaultSweepTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Syscalls = ["openat", "pwrite64", "write", "ftruncate", "rename", "renameat", "unlinkat", "fsync", "fdatasync", "mmap"];
    private static readonly string[] Faults = ["error=ENOSPC", "error=EIO", "signal=KILL"];
    private static readonly string[] Labels = ["ck0", "ck1", "ck2", "ck3", "ck4"];

    /// <summary>strace's arguments that make the journal's <c>mmap</c> fail, so that it writes with <c>pwrite</c>.</summary>
    private static readonly string[] JournalNotMapped = ["-e", "inject=mmap:error=ENODEV"];

    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [RootFact("strace")]
    public void QuickStart_FaultAtEveryQueueSystemCall_NoCommandAppliedTwiceOrLeftWithoutItsAck()
    {
        var template = Path.Combine(_q.Root, "template");
        Assert.Equal(0, Run(QuickStartProcess.Once(template, null)).ExitCode); // the journal exists, as in any run after the first
        foreach (var label in Labels)
        {
            CommandSender.Enqueue(template, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = label });
        }

        CommandSender.Enqueue(template, "model.dropout.p", [1.5]); // refused by its validator: a failed ack

        var points = 0;
        var failures = new List<string>();
        var run = 0;
        foreach (var (journal, strace, swept) in (ValueTuple<string, string[], string[]>[])[("mapped", [], Syscalls), ("pwrite", JournalNotMapped, ["pwrite64"])])
        {
            var traced = string.Join(',', swept.Append("mmap").Distinct());
            var calls = CountCalls(template, traced, strace, out var counted);
            output.WriteLine($"journal {journal}: calls on queue files per thread (max): " + string.Join(", ", calls.Select(c => $"{c.Key} {c.Value}")));
            var journalWrites = counted.Count(l => l.Contains("pwrite64(", StringComparison.Ordinal) && l.Contains("journal.bin", StringComparison.Ordinal));
            Assert.True(journal == "pwrite" ? journalWrites > 0 : journalWrites == 0, $"journal {journal}: {journalWrites} pwrite64 calls on journal.bin");
            foreach (var (syscall, count) in calls.Where(c => swept.Contains(c.Key)))
            {
                for (var n = 1; n <= count; n++)
                {
                    foreach (var fault in Faults)
                    {
                        var dir = QuickStartProcess.Copy(template, Path.Combine(_q.Root, $"run{run++}"));
                        var record = Path.Combine(_q.Root, $"record{run}.txt");
                        var traceFile = Path.Combine(_q.Root, $"trace{run}.txt");
                        var faulty = Run(QuickStartProcess.Traced(dir, record, traceFile, traced, [.. strace, "-e", $"inject={syscall}:{fault}:when={n}"]));
                        var trace = File.ReadAllLines(traceFile);
                        var hit = fault.StartsWith("signal", StringComparison.Ordinal)
                            ? trace.Any(l => l.Contains("killed by SIGKILL", StringComparison.Ordinal))
                            : trace.Any(l => l.Contains(syscall + "(", StringComparison.Ordinal) && l.Contains("(INJECTED)", StringComparison.Ordinal));
                        if (!hit)
                        {
                            continue; // that thread made fewer calls: no point here
                        }

                        points++;
                        var point = $"journal {journal}, {syscall} #{n} {fault}";
                        // The one error allowed to end the program: the queue directory itself cannot be opened at start,
                        // and Configure says so (QuickStart exits 2 with the message) before any training step.
                        var refusedAtStart = faulty.ExitCode == 2 && faulty.Stderr.Contains("Cannot open the directory", StringComparison.Ordinal);
                        if (!fault.StartsWith("signal", StringComparison.Ordinal) && faulty.ExitCode != 0 && !refusedAtStart)
                        {
                            failures.Add($"{point}: the trainer died (exit {faulty.ExitCode}): {faulty.Stderr}");
                        }

                        var clean = Run(QuickStartProcess.Once(dir, record));
                        if (clean.ExitCode != 0)
                        {
                            failures.Add($"{point}: the clean restart failed (exit {clean.ExitCode}): {clean.Stderr}");
                        }

                        failures.AddRange(Check(dir, record).Select(f => $"{point}: {f}"));
                        Directory.Delete(dir, recursive: true);
                    }
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
        var calls = new Dictionary<bool, (int Files, int Journal)>();
        foreach (var powerLossSafe in (bool[])[false, true])
        {
            var dir = Path.Combine(_q.Root, powerLossSafe ? "power" : "kill");
            Assert.Equal(0, Run(QuickStartProcess.Once(dir, null)).ExitCode); // reserves the journal (a one-time sync)
            foreach (var label in Labels)
            {
                CommandSender.Enqueue(dir, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = label });
            }

            var traceFile = Path.Combine(_q.Root, $"sync-{powerLossSafe}.txt");
            Assert.Equal(0, Run(SyncTrace(dir, traceFile, powerLossSafe)).ExitCode);
            calls[powerLossSafe] = CountSyncs(dir, File.ReadAllLines(traceFile));
        }

        output.WriteLine($"syncs for {Labels.Length} commands: KillSafe {calls[false]}, PowerLossSafe {calls[true]} (fsync/fdatasync of queue files, msync of the journal's mapping)");
        Assert.Equal((0, 0), calls[false]);
        // One per journal commit (each command's begin, with the outcome of the one before; the last outcome), and the acks.
        Assert.True(calls[true].Journal >= Labels.Length + 1, $"PowerLossSafe synced the journal {calls[true].Journal} times for {Labels.Length} commands");
        Assert.True(calls[true].Files + calls[true].Journal >= Labels.Length + 2, $"PowerLossSafe synced {calls[true]} times for {Labels.Length} commands");
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

    /// <summary>The most calls a thread makes of each traced system call on the queue's files, in a run without faults.</summary>
    private Dictionary<string, int> CountCalls(string template, string traced, string[] strace, out string[] trace)
    {
        var dir = QuickStartProcess.Copy(template, Path.Combine(_q.Root, "count"));
        var traceFile = Path.Combine(_q.Root, "count.txt");
        Assert.Equal(0, Run(QuickStartProcess.Traced(dir, Path.Combine(_q.Root, "count-record.txt"), traceFile, traced, [.. strace, "-y"])).ExitCode);
        trace = File.ReadAllLines(traceFile);
        var calls = trace
            .Select(l => l.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 2 && p[1].Contains('(', StringComparison.Ordinal))
            .Select(p => (Thread: p[0], Syscall: p[1][..p[1].IndexOf('(', StringComparison.Ordinal)]))
            .GroupBy(c => c.Syscall)
            .ToDictionary(g => g.Key, g => g.GroupBy(c => c.Thread).Max(t => t.Count()));
        Directory.Delete(dir, recursive: true);
        return calls;
    }

    /// <summary>
    /// QuickStart with its syncs traced, with their descriptors' paths (<c>-y</c>) and without <c>-P</c>: an
    /// <c>msync</c> names an address, not a file, so it is told apart by the address of the journal's mapping.
    /// </summary>
    private static ProcessStartInfo SyncTrace(string dir, string traceFile, bool powerLossSafe) =>
        QuickStartProcess.Strace(powerLossSafe ? QuickStartProcess.Once(dir, null, "--power-loss-safe") : QuickStartProcess.Once(dir, null), traceFile, "fsync,fdatasync,msync,mmap", ["-y"]);

    /// <summary>The fsync/fdatasync calls on the queue's files, and the msync calls within a mapping of its journal.</summary>
    private static (int Files, int Journal) CountSyncs(string dir, string[] trace)
    {
        var files = trace.Count(l => (l.Contains(" fsync(", StringComparison.Ordinal) || l.Contains(" fdatasync(", StringComparison.Ordinal)) && l.Contains("<" + dir + "/", StringComparison.Ordinal));
        var journal = 0;
        (ulong Start, ulong End)? mapping = null;
        foreach (var line in trace)
        {
            var call = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries)[^1];
            if (call.StartsWith("mmap(", StringComparison.Ordinal) && call.Contains("<" + Path.Combine(dir, "journal.bin") + ">", StringComparison.Ordinal) && call.Contains("= 0x", StringComparison.Ordinal))
            {
                var length = ulong.Parse(call.Split(", ")[1], System.Globalization.CultureInfo.InvariantCulture);
                var start = Convert.ToUInt64(call[(call.LastIndexOf("= 0x", StringComparison.Ordinal) + 4)..].Trim(), 16);
                mapping = (start, start + length);
            }
            else if (call.StartsWith("msync(0x", StringComparison.Ordinal) && mapping is { } m && call.EndsWith("= 0", StringComparison.Ordinal))
            {
                var address = Convert.ToUInt64(call[8..call.IndexOf(',', StringComparison.Ordinal)], 16);
                journal += address >= m.Start && address < m.End ? 1 : 0;
            }
        }

        return (files, journal);
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(ProcessStartInfo info) => QuickStartProcess.Run(info);
}
