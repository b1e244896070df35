using System.Diagnostics;

namespace RuntimeCtl.Tests.Support;

/// <summary>The programs the process-level tests start: built next to this test assembly (UseArtifactsOutput).</summary>
public static class Executables
{
    public static string QuickStart => Dll("QuickStart", "QuickStart");

    public static string Cli => Dll("RuntimeCtl.Cli", "RuntimeCtl.Cli");

    public static string Sender => Dll("RuntimeCtl.Tests.Sender", "RuntimeCtl.Tests.Sender");

    /// <summary>Finds <c>bin/&lt;project&gt;/&lt;config&gt;/&lt;assembly&gt;.dll</c> beside this test's own output folder.</summary>
    public static string Dll(string project, string assembly)
    {
        var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(own.Parent!.Parent!.FullName, project, own.Name, assembly + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} first (the test project references it).", path);
    }

    public static ProcessStartInfo Start(string dll, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["TERM"] = "dumb";
        info.Environment["DOTNET_NOLOGO"] = "1";
        return info;
    }

    /// <summary>Runs a program to its end (killing it after <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(ProcessStartInfo info, TimeSpan timeout)
    {
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{info.FileName} {string.Join(' ', info.ArgumentList)} did not finish in {timeout}; stderr: {stderr.Result}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
