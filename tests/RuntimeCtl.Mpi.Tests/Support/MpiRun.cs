using System.Globalization;
using System.Text.RegularExpressions;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>What a run under a launcher (or alone) printed and how it ended.</summary>
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
/// Starts RuntimeCtl.Mpi.TestHost (copied to mpi-testhost/ beside this assembly) or the MpiControlPlane sample (copied to
/// mpi-controlplane/) under mpirun, under MPICH's launcher or alone, and kills the whole process tree when it outlives
/// its timeout.
/// </summary>
internal static class MpiRun
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static string HostPath => Program("mpi-testhost", "RuntimeCtl.Mpi.TestHost.dll");

    public static string ControlPlanePath => Program("mpi-controlplane", "MpiControlPlane.dll");

    /// <summary>Runs the host on <paramref name="ranks"/> ranks with Open MPI's mpirun.</summary>
    public static MpiRunResult OpenMpi(int ranks, string[] hostArguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        OpenMpi(ranks, HostPath, hostArguments, environment, timeout);

    /// <summary>Runs <paramref name="program"/> (a .NET dll) on <paramref name="ranks"/> ranks with Open MPI's mpirun.</summary>
    public static MpiRunResult OpenMpi(int ranks, string program, string[] arguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        using var job = StartOpenMpi(ranks, program, arguments, environment);
        return job.WaitForExit(timeout ?? DefaultTimeout);
    }

    /// <summary>Starts <paramref name="program"/> (a .NET dll) on <paramref name="ranks"/> ranks with Open MPI's mpirun, in the background.</summary>
    public static MpiJob StartOpenMpi(int ranks, string program, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var mpirun = MpiAvailability.RequireMpirun();
        return MpiJob.Start(
            mpirun,
            sessionDirectory =>
            [
                "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(CultureInfo.InvariantCulture),
                "--mca", "orte_tmpdir_base", sessionDirectory,
                DotnetHost, program, .. arguments,
            ],
            environment);
    }

    /// <summary>Runs the host on <paramref name="ranks"/> ranks with MPICH's Hydra launcher.</summary>
    public static MpiRunResult Mpich(int ranks, string[] hostArguments, TimeSpan? timeout = null)
    {
        var launcher = MpiAvailability.MpichLauncher ?? throw new InvalidOperationException("mpiexec.mpich is not on PATH.");
        return Run(launcher, _ => ["-n", ranks.ToString(CultureInfo.InvariantCulture), DotnetHost, HostPath, .. hostArguments], null, timeout ?? DefaultTimeout);
    }

    /// <summary>Runs the host as a plain process, a singleton MPI job.</summary>
    public static MpiRunResult Alone(string[] hostArguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        Run(DotnetHost, _ => [HostPath, .. hostArguments], environment, timeout ?? DefaultTimeout);

    /// <summary>Gets the dotnet host that runs this test, to run the programs with.</summary>
    internal static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } process && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process
        : "dotnet";

    private static string Program(string folder, string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, folder, file);
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{file} is missing at {path}; build RuntimeCtl.Mpi.Tests (it copies the program there).");
    }

    private static MpiRunResult Run(
        string fileName,
        Func<string, IEnumerable<string>> arguments,
        IReadOnlyDictionary<string, string>? environment,
        TimeSpan timeout)
    {
        using var job = MpiJob.Start(fileName, arguments, environment);
        return job.WaitForExit(timeout);
    }
}
