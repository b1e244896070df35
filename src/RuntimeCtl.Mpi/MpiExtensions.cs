using RuntimeCtl.Mpi;

namespace RuntimeCtl;

/// <summary>Connects a controller to the job's MPI ranks.</summary>
public static class MpiExtensions
{
    /// <summary>
    /// Sets <see cref="RuntimeControllerOptions.ProcessGroup"/> to the MPI world of this job: initialises MPI if the
    /// program has not (reusing it if it has), so rank 0 reads the queue and every rank applies the same commands.
    /// </summary>
    /// <param name="options">The controller's options.</param>
    /// <returns>The same options, for chaining.</returns>
    /// <exception cref="ProcessGroupException">No MPI library could be loaded, or it does not match the launcher.</exception>
    /// <remarks>Every rank must call it (it is collective when it initialises MPI).</remarks>
    public static RuntimeControllerOptions UseMpi(this RuntimeControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ProcessGroup = MpiProcessGroup.Initialize();
        return options;
    }
}
