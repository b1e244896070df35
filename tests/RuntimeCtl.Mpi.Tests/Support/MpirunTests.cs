namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// The test classes that start mpirun: they run one test at a time and never beside other tests, so a job of 4 ranks
/// on a small machine is not oversubscribed further.
/// </summary>
[CollectionDefinition(Collection, DisableParallelization = true)]
public sealed class MpirunTests
{
    public const string Collection = "mpirun";
}
