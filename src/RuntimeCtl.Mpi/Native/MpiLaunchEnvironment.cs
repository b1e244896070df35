using System.Collections;
using System.Globalization;

namespace RuntimeCtl.Mpi;

/// <summary>The MPI flavours whose binary interfaces this package knows.</summary>
internal enum MpiFlavor
{
    /// <summary>Open MPI: handles are pointers to exported data symbols (<c>ompi_mpi_comm_world</c>, …).</summary>
    OpenMpi,

    /// <summary>MPICH and its ABI-compatible derivatives (Intel MPI, MVAPICH): handles are C ints.</summary>
    Mpich,
}

/// <summary>
/// What the launcher (Open MPI's <c>mpirun</c>, MPICH's Hydra <c>mpiexec</c>) told this process through its
/// environment, and which MPI libraries to try in which order because of it.
/// </summary>
internal sealed class MpiLaunchEnvironment
{
    /// <summary>The variable that overrides the choice of library: <c>openmpi</c>, <c>mpich</c>, or a library name or path.</summary>
    public const string LibraryVariable = "RUNTIMECTL_MPI_LIBRARY";

    internal static readonly string[] OpenMpiLibraries = ["libmpi.so.40", "libmpi.so"];

    internal static readonly string[] MpichLibraries = ["libmpich.so.12", "libmpi.so.12", "libmpich.so"];

    private readonly Dictionary<string, string> _variables;

    public MpiLaunchEnvironment(IReadOnlyDictionary<string, string> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        _variables = new Dictionary<string, string>(variables, StringComparer.Ordinal);
    }

    /// <summary>Gets the flavour whose launcher started this process, or <see langword="null"/> when none did.</summary>
    public MpiFlavor? Launcher
    {
        get
        {
            // Open MPI's mpirun sets OMPI_COMM_WORLD_*; Hydra sets PMI_RANK, PMI_SIZE, PMI_FD. Slurm's PMI2
            // also sets PMI_*, which is why both flavours stay in the candidate list.
            if (_variables.Keys.Any(k => k.StartsWith("OMPI_COMM_WORLD_", StringComparison.Ordinal)))
            {
                return MpiFlavor.OpenMpi;
            }

            if (_variables.Keys.Any(k => k.StartsWith("PMI_", StringComparison.Ordinal) || k.StartsWith("HYDRA_", StringComparison.Ordinal)))
            {
                return MpiFlavor.Mpich;
            }

            return null;
        }
    }

    /// <summary>Gets the value of <see cref="LibraryVariable"/>, or <see langword="null"/> when it is unset or blank.</summary>
    public string? LibraryOverride =>
        _variables.TryGetValue(LibraryVariable, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>
    /// Gets the world size the launcher announced and the variable that announced it, or <see langword="null"/>
    /// when the process was not started by a launcher that announces one.
    /// </summary>
    public (string Variable, int Size)? LauncherWorldSize
    {
        get
        {
            foreach (var name in (ReadOnlySpan<string>)["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"])
            {
                if (_variables.TryGetValue(name, out var text)
                    && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                    && size > 0)
                {
                    return (name, size);
                }
            }

            return null;
        }
    }

    /// <summary>Reads the environment of this process.</summary>
    public static MpiLaunchEnvironment FromProcess()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                variables[key] = value;
            }
        }

        return new MpiLaunchEnvironment(variables);
    }

    /// <summary>
    /// Gets the library names or paths to try, in order: the override alone when it is set, otherwise the launcher's
    /// flavour first and the other flavour after it (Open MPI first when no launcher is recognised).
    /// </summary>
    public IReadOnlyList<string> GetLibraryCandidates()
    {
        var library = LibraryOverride;
        if (library is not null)
        {
            return library.ToUpperInvariant() switch
            {
                "OPENMPI" or "OPEN MPI" or "OMPI" => OpenMpiLibraries,
                "MPICH" => MpichLibraries,
                _ => [library],
            };
        }

        return Launcher == MpiFlavor.Mpich
            ? [.. MpichLibraries, .. OpenMpiLibraries]
            : [.. OpenMpiLibraries, .. MpichLibraries];
    }
}
