using System.Globalization;

namespace RuntimeCtl.Mpi.Tests;

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
    public static ProcessResult OpenMpi(int ranks, string[] hostArguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        OpenMpi(ranks, HostPath, hostArguments, environment, timeout);

    /// <summary>Runs <paramref name="program"/> (a .NET dll) on <paramref name="ranks"/> ranks with Open MPI's mpirun.</summary>
    public static ProcessResult OpenMpi(int ranks, string program, string[] arguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
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
    public static ProcessResult Mpich(int ranks, string[] hostArguments, TimeSpan? timeout = null)
    {
        var launcher = MpiAvailability.MpichLauncher ?? throw new InvalidOperationException("mpiexec.mpich is not on PATH.");
        return Run(launcher, _ => ["-n", ranks.ToString(CultureInfo.InvariantCulture), DotnetHost, HostPath, .. hostArguments], null, timeout ?? DefaultTimeout);
    }

    /// <summary>Runs the host as a plain process, a singleton MPI job.</summary>
    public static ProcessResult Alone(string[] hostArguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        Run(DotnetHost, _ => [HostPath, .. hostArguments], environment, timeout ?? DefaultTimeout);

    /// <summary>Gets the dotnet host that runs this test, to run the programs with.</summary>
    internal static string DotnetHost => TestPaths.DotnetHost;

    private static string Program(string folder, string file) => TestPaths.BesideTests(folder, file);

    private static ProcessResult Run(
        string fileName,
        Func<string, IEnumerable<string>> arguments,
        IReadOnlyDictionary<string, string>? environment,
        TimeSpan timeout)
    {
        using var job = MpiJob.Start(fileName, arguments, environment);
        return job.WaitForExit(timeout);
    }
}
