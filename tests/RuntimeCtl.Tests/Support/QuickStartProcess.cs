using System.Diagnostics;

namespace RuntimeCtl.Tests.Support;

/// <summary>The real trainer (samples/QuickStart <c>--once</c>) as the process-level tests run it: plainly, or under <c>strace</c>.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public static class QuickStartProcess
{
    /// <summary>The files of a queue directory the trainer opens, writes, renames or removes.</summary>
    public static readonly string[] QueueFiles = ["commands.jsonl", "acks.jsonl", "journal.bin", "cursor.json", "cursor.json.tmp", "controller.json", "controller.json.tmp", "commands.lock"];

    /// <summary>QuickStart draining <paramref name="dir"/> once, appending each save_ckpt label to <paramref name="record"/> if given.</summary>
    public static ProcessStartInfo Once(string dir, string? record, params string[] options)
    {
        var info = Executables.Start(Executables.QuickStart, "--queue", dir, "--once");
        if (record is not null)
        {
            info.ArgumentList.Add("--record");
            info.ArgumentList.Add(record);
        }

        foreach (var option in options)
        {
            info.ArgumentList.Add(option);
        }

        return info;
    }

    /// <summary>
    /// <see cref="Once"/> under <c>strace -f</c>: the calls in <paramref name="trace"/> made on the directory and its
    /// queue files (<c>-P</c>) go to <paramref name="traceFile"/>; <paramref name="strace"/> are more of strace's
    /// arguments (<c>-e inject=…</c>), <paramref name="options"/> more of QuickStart's.
    /// </summary>
    public static ProcessStartInfo Traced(string dir, string? record, string traceFile, string trace, IEnumerable<string> strace, params string[] options) =>
        // The directory too: its files are opened, renamed and removed relative to its descriptor (openat, renameat).
        Strace(Once(dir, record, options), traceFile, trace, [.. strace, .. QueueFiles.Prepend(string.Empty).SelectMany(f => (string[])["-P", f.Length == 0 ? dir : Path.Combine(dir, f)])]);

    /// <summary><paramref name="program"/> under <c>strace -f -qq</c>, the calls in <paramref name="trace"/> written to <paramref name="traceFile"/>.</summary>
    public static ProcessStartInfo Strace(ProcessStartInfo program, string traceFile, string trace, IEnumerable<string> strace)
    {
        var info = new ProcessStartInfo("strace") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-f", "-qq", "-o", traceFile, "-e", $"trace={trace}", .. strace, program.FileName, .. program.ArgumentList])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in program.Environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(ProcessStartInfo info) => Executables.Run(info, TimeSpan.FromMinutes(1));

    /// <summary>Copies a queue directory's files (a template) to a new directory.</summary>
    public static string Copy(string from, string to)
    {
        Directory.CreateDirectory(to, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        return to;
    }
}
