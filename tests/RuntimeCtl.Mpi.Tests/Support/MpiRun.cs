using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>What a run of the test host printed and how it ended.</summary>
internal sealed record MpiRunResult(int ExitCode, bool TimedOut, TimeSpan Elapsed, IReadOnlyList<string> Lines, string Error)
{
    /// <summary>Gets the output lines that match <paramref name="pattern"/>, as matches.</summary>
    public IReadOnlyList<Match> Matching(string pattern) =>
        [.. Lines.Select(line => Regex.Match(line, pattern)).Where(match => match.Success)];

    /// <summary>Gets everything the run printed, for assertion messages.</summary>
    public override string ToString() =>
        $"exit {ExitCode}{(TimedOut ? " (timed out, killed)" : string.Empty)} after {Elapsed.TotalSeconds:F1} s\n" +
        $"stdout:\n{string.Join('\n', Lines)}\nstderr:\n{Error}";
}

/// <summary>
/// Starts RuntimeCtl.Mpi.TestHost (copied to mpi-testhost/ beside this assembly) under mpirun, under MPICH's
/// launcher or alone, and kills the whole process tree when it outlives its timeout.
/// </summary>
internal static class MpiRun
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static string HostPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "mpi-testhost", "RuntimeCtl.Mpi.TestHost.dll");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"The test host is missing at {path}; build RuntimeCtl.Mpi.Tests (it copies the host there).");
        }
    }

    /// <summary>Runs the host on <paramref name="ranks"/> ranks with Open MPI's mpirun.</summary>
    public static MpiRunResult OpenMpi(int ranks, string[] hostArguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var mpirun = MpiAvailability.RequireMpirun();
        return Run(
            mpirun,
            sessionDirectory =>
            [
                "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(),
                "--mca", "orte_tmpdir_base", sessionDirectory,
                DotnetHost, HostPath, .. hostArguments,
            ],
            environment,
            timeout ?? DefaultTimeout);
    }

    /// <summary>Runs the host on <paramref name="ranks"/> ranks with MPICH's Hydra launcher.</summary>
    public static MpiRunResult Mpich(int ranks, string[] hostArguments, TimeSpan? timeout = null)
    {
        var launcher = MpiAvailability.MpichLauncher ?? throw new InvalidOperationException("mpiexec.mpich is not on PATH.");
        return Run(launcher, _ => ["-n", ranks.ToString(), DotnetHost, HostPath, .. hostArguments], null, timeout ?? DefaultTimeout);
    }

    /// <summary>Runs the host as a plain process, a singleton MPI job.</summary>
    public static MpiRunResult Alone(string[] hostArguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        Run(DotnetHost, _ => [HostPath, .. hostArguments], environment, timeout ?? DefaultTimeout);

    private static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } process && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process
        : "dotnet";

    private static MpiRunResult Run(
        string fileName,
        Func<string, IEnumerable<string>> arguments,
        IReadOnlyDictionary<string, string>? environment,
        TimeSpan timeout)
    {
        // A fresh Open MPI session directory per run: a killed job, or a singleton, leaves its files behind in it
        // instead of in /tmp/ompi.*.
        var sessionDirectory = Directory.CreateTempSubdirectory("runtimectl-mpi-");
        try
        {
            return Run(fileName, arguments(sessionDirectory.FullName), sessionDirectory.FullName, environment, timeout);
        }
        finally
        {
            TryDelete(sessionDirectory);
        }
    }

    private static MpiRunResult Run(
        string fileName,
        IEnumerable<string> arguments,
        string sessionDirectory,
        IReadOnlyDictionary<string, string>? environment,
        TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Launchers colour and page their help text on a terminal; a dumb one keeps output parseable. Variables a
        // developer's shell might carry would pick another library or size, so the child starts without them.
        start.Environment["TERM"] = "dumb";
        foreach (var name in start.Environment.Keys.Where(IsMpiVariable).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["OMPI_MCA_orte_tmpdir_base"] = sessionDirectory;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var lines = new List<string>();
        var error = new System.Text.StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (error)
                {
                    error.AppendLine(e.Data);
                }
            }
        };

        var stopwatch = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var timedOut = !process.WaitForExit(timeout);
        if (timedOut)
        {
            process.Kill(entireProcessTree: true);
        }

        // The parameterless wait also drains the asynchronous output readers.
        process.WaitForExit();
        stopwatch.Stop();
        lock (lines)
        {
            lock (error)
            {
                return new MpiRunResult(process.ExitCode, timedOut, stopwatch.Elapsed, [.. lines], error.ToString());
            }
        }
    }

    private static bool IsMpiVariable(string name) =>
        name.StartsWith("OMPI_", StringComparison.Ordinal)
        || name.StartsWith("PMI_", StringComparison.Ordinal)
        || name.StartsWith("PMIX_", StringComparison.Ordinal)
        || name.StartsWith("HYDRA_", StringComparison.Ordinal)
        || name == "RUNTIMECTL_MPI_LIBRARY";

    private static void TryDelete(DirectoryInfo directory)
    {
        try
        {
            directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
