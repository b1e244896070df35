using System.Text.Json;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// Appends by our senders and by writers that do not take our lock (Python's <c>open(..., "a")</c>, as the original CLI
/// does, and one long-lived <c>O_APPEND</c> descriptor) race on one queue while a trainer runs: no line is overwritten
/// or torn, and every command is acked exactly once.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ConcurrentAppendTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const string PythonWriter = """
        import json, os, sys, time, uuid
        path, name, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if mode == "fd" else None
        for i in range(count):
            line = json.dumps({"id": str(uuid.uuid4()), "ts": time.time(), "op": "set", "path": "save_ckpt", "args": [], "kwargs": {"label": f"{name}-{i}"}}) + "\n"
            if fd is None:
                with open(path, "a", encoding="utf-8") as f:  # as the original CLI appends
                    f.write(line)
            else:
                os.write(fd, line.encode())
        """;

    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Append_LockingAndNonLockingWritersRace_NoLineCorruptAndEveryCommandAckedOnce()
    {
        const int LibrarySenders = 3, LibraryLines = 2000, PythonSenders = 2, PythonLines = 1500, FdLines = 3000;
        Directory.CreateDirectory(_q.Dir);
        File.SetUnixFileMode(_q.Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(_q.Commands, string.Empty);
        File.SetUnixFileMode(_q.Commands, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var script = Path.Combine(_q.Root, "writer.py");
        File.WriteAllText(script, PythonWriter);

        using var trainer = ChildProcess.StartDotnet(TestPaths.QuickStart, ["--queue", _q.Dir, "--every-s", "0", "--step-delay-ms", "1"]);
        var writers = new List<ChildProcess>();
        for (var s = 0; s < LibrarySenders; s++)
        {
            writers.Add(ChildProcess.StartDotnet(TestPaths.Sender, [_q.Dir, $"lib{s}", LibraryLines.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
        }

        for (var s = 0; s < PythonSenders; s++)
        {
            writers.Add(Python(script, $"py{s}", PythonLines, "open"));
        }

        writers.Add(Python(script, "fd", FdLines, "fd"));
        foreach (var writer in writers)
        {
            var written = writer.WaitForExit(TimeSpan.FromMinutes(4));
            Assert.True(written.ExitCode == 0, written.ToString());
            writer.Dispose();
        }

        trainer.Kill();
        var drain = ChildProcess.RunDotnet(TestPaths.QuickStart, ["--queue", _q.Dir, "--once"], TimeSpan.FromMinutes(2));
        Assert.Equal(0, drain.ExitCode);

        var expected = (LibrarySenders * LibraryLines) + (PythonSenders * PythonLines) + FdLines;
        var lines = File.ReadAllLines(_q.Commands).Where(l => l.Length > 0).ToList();
        var corrupt = lines.Count(l => !IsCommand(l));
        var ids = lines.Where(IsCommand).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).ToList();
        var acked = _q.ReadAcks().Select(a => a.GetProperty("id").GetString()!).ToList();
        var lost = ids.Except(acked).Count();
        var twice = acked.Count - acked.Distinct().Count();
        output.WriteLine($"race: {writers.Count} writers, {lines.Count} lines (expected {expected}), {corrupt} corrupt, {lost} lost, {twice} acked twice");
        Assert.Equal(0, corrupt);
        Assert.Equal(expected, lines.Count);
        Assert.Equal(0, lost);
        Assert.Equal(0, twice);
        Assert.Equal(ids.Order(), acked.Order());
    }

    private static bool IsCommand(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.TryGetProperty("kwargs", out var kwargs) && kwargs.TryGetProperty("label", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private ChildProcess Python(string script, string name, int count, string mode) =>
        ChildProcess.Start("python3", [script, _q.Commands, name, count.ToString(System.Globalization.CultureInfo.InvariantCulture), mode]);
}
