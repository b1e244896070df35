using System.Diagnostics;

namespace RuntimeCtl.Tests.Support;

/// <summary>Runs a system program (mount, chown, mkfifo, bindfs) to its end and fails the test when it fails.</summary>
public static class Programs
{
    public static void Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
    }
}
