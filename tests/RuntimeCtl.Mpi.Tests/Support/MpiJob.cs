using System.Diagnostics;
using System.Text;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// A launcher (or a plain process) running in the background with its own Open MPI session directory: the output
/// so far, a bounded wait that kills the whole process tree, and a dispose that never leaves a process behind.
/// </summary>
internal sealed class MpiJob : IDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _sessionDirectory;
    private readonly Stopwatch _stopwatch;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _error = new();

    private MpiJob(Process process, DirectoryInfo sessionDirectory)
    {
        _process = process;
        _sessionDirectory = sessionDirectory;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_lines)
                {
                    _lines.Add(e.Data);
                }
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_error)
                {
                    _error.AppendLine(e.Data);
                }
            }
        };

        _stopwatch = Stopwatch.StartNew();
        _process.Start();
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Gets whether the launcher has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Gets the lines printed on stdout so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with the arguments <paramref name="arguments"/> makes from the path of a
    /// fresh session directory.
    /// </summary>
    public static MpiJob Start(string fileName, Func<string, IEnumerable<string>> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        // A fresh Open MPI session directory per run: a killed job, or a singleton, leaves its files behind in it
        // instead of in /tmp/ompi.*.
        var sessionDirectory = Directory.CreateTempSubdirectory("runtimectl-mpi-");
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments(sessionDirectory.FullName))
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

        start.Environment["OMPI_MCA_orte_tmpdir_base"] = sessionDirectory.FullName;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        try
        {
            return new MpiJob(process, sessionDirectory);
        }
        catch
        {
            process.Dispose();
            TryDelete(sessionDirectory);
            throw;
        }
    }

    /// <summary>Waits for the launcher to exit, killing the whole process tree once <paramref name="timeout"/> has passed.</summary>
    public MpiRunResult WaitForExit(TimeSpan timeout)
    {
        var timedOut = !_process.WaitForExit(timeout);
        if (timedOut)
        {
            _process.Kill(entireProcessTree: true);
        }

        // The parameterless wait also drains the asynchronous output readers.
        _process.WaitForExit();
        _stopwatch.Stop();
        lock (_error)
        {
            return new MpiRunResult(_process.ExitCode, timedOut, _stopwatch.Elapsed, Lines, _error.ToString());
        }
    }

    /// <summary>Kills the process tree if it still runs, and removes the session directory.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        TryDelete(_sessionDirectory);
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
