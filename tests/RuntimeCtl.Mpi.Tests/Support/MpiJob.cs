namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// A launcher (or a plain process) running in the background with its own Open MPI session directory: a
/// <see cref="ChildProcess"/> that starts without the MPI variables of the developer's shell, and a dispose that also
/// removes the session directory.
/// </summary>
internal sealed class MpiJob : IDisposable
{
    private readonly DirectoryInfo _sessionDirectory;

    private MpiJob(ChildProcess process, DirectoryInfo sessionDirectory)
    {
        Process = process;
        _sessionDirectory = sessionDirectory;
    }

    /// <summary>Gets the launcher's process (for its output so far, and for waits that must fail when it ends).</summary>
    public ChildProcess Process { get; }

    /// <summary>Gets whether the launcher has exited.</summary>
    public bool HasExited => Process.HasExited;

    /// <summary>
    /// Starts <paramref name="fileName"/> with the arguments <paramref name="arguments"/> makes from the path of a
    /// fresh session directory.
    /// </summary>
    public static MpiJob Start(string fileName, Func<string, IEnumerable<string>> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        // A fresh Open MPI session directory per run: a killed job, or a singleton, leaves its files behind in it
        // instead of in /tmp/ompi.*.
        var sessionDirectory = Directory.CreateTempSubdirectory("runtimectl-mpi-");

        // Variables a developer's shell might carry would pick another library or size, so the child starts without them.
        var variables = Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(IsMpiVariable).ToDictionary(name => name, _ => (string?)null);
        variables["OMPI_MCA_orte_tmpdir_base"] = sessionDirectory.FullName;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }

        try
        {
            return new MpiJob(ChildProcess.Start(fileName, arguments(sessionDirectory.FullName), variables), sessionDirectory);
        }
        catch
        {
            TryDelete(sessionDirectory);
            throw;
        }
    }

    /// <summary>Waits for the launcher to exit, killing the whole process tree once <paramref name="timeout"/> has passed (the result says so).</summary>
    public ProcessResult WaitForExit(TimeSpan timeout) => Process.WaitForExitOrKill(timeout);

    /// <summary>Kills the process tree if it still runs, and removes the session directory.</summary>
    public void Dispose()
    {
        Process.Dispose();
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
