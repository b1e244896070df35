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
    /// <remarks>
    /// <para>Every rank must call it (it is collective when it initialises MPI).</para>
    /// <para>
    /// The controllers created with these options own the group: disposing the last of them frees it and finalizes
    /// MPI, so <c>using var rt = new RuntimeController&lt;T&gt;(new RuntimeControllerOptions().UseMpi());</c> needs no
    /// other clean-up. A group the program took with <see cref="MpiProcessGroup.Initialize"/> (before or after) stays
    /// the program's to dispose, and so does any group set in <see cref="RuntimeControllerOptions.ProcessGroup"/> after
    /// this call.
    /// </para>
    /// </remarks>
    public static RuntimeControllerOptions UseMpi(this RuntimeControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var group = MpiProcessGroup.InitializeForController();
        return options.WithOwnedProcessGroup(group, group.Hold);
    }
}
