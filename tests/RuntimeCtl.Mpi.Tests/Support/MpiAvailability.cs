namespace RuntimeCtl.Mpi.Tests;

/// <summary>Whether this machine can run the MPI tests, and why not.</summary>
internal static class MpiAvailability
{
    /// <summary>Set to 1 (as CI does) to make a missing <c>mpirun</c> a failure instead of a skip.</summary>
    public const string RequireVariable = "RUNTIMECTL_REQUIRE_MPI";

    public const string InstallHint = "Install Open MPI with 'apt-get install -y openmpi-bin'.";

    /// <summary>Gets the full path of Open MPI's <c>mpirun</c>, or <see langword="null"/> when it is not on PATH.</summary>
    public static string? Mpirun { get; } = FindOnPath("mpirun");

    /// <summary>Gets the full path of MPICH's Hydra launcher, or <see langword="null"/> when MPICH is not installed.</summary>
    public static string? MpichLauncher { get; } = FindOnPath("mpiexec.mpich");

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Gets the reason to skip a test that needs mpirun, or <see langword="null"/> to run it.</summary>
    public static string? SkipReason => Mpirun is null && !Required
        ? $"mpirun is not on PATH. {InstallHint} Set {RequireVariable}=1 to make this a failure."
        : null;

    /// <summary>Gets mpirun's path, or fails the test (when <see cref="Required"/>) with how to install it.</summary>
    public static string RequireMpirun() =>
        Mpirun ?? throw new InvalidOperationException($"mpirun is not on PATH and {RequireVariable}=1 requires it. {InstallHint}");

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
