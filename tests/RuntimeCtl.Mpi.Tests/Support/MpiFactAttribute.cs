namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// A fact that needs Open MPI: skipped when <c>mpirun</c> is not on PATH, unless <c>RUNTIMECTL_REQUIRE_MPI=1</c>
/// makes it run and fail.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        Skip = MpiAvailability.SkipReason;
    }
}

/// <summary>The theory counterpart of <see cref="MpiFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        Skip = MpiAvailability.SkipReason;
    }
}

/// <summary>A fact that needs MPICH's <c>mpiexec.mpich</c>; skipped without it (MPICH is optional).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class MpichFactAttribute : FactAttribute
{
    public MpichFactAttribute()
    {
        Skip = MpiAvailability.MpichLauncher is null
            ? "MPICH is not installed; 'apt-get install -y mpich' runs this test."
            : null;
    }
}
