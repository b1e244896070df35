using Xunit.Abstractions;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// <see cref="MpiExtensions.UseMpi"/> under the real Open MPI: who disposes the group it sets, and so who calls
/// <c>MPI_Finalize</c>. In the mpirun collection, like every test that starts mpirun.
/// </summary>
[Collection(MpirunTests.Collection)]
public sealed class MpiExtensionsTests(ITestOutputHelper output)
{
    [MpiFact]
    public void UseMpi_LastControllerDisposed_FinalizesMpi()
    {
        // Act: two controllers made with UseMpi() on each rank, disposed one after the other.
        var result = MpiRun.OpenMpi(2, ["usempi"]);

        // Assert: the first leaves MPI to the second, whose Dispose finalizes it.
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            ["rank 0 size 2 usempi finalized 0 1", "rank 1 size 2 usempi finalized 0 1"],
            result.Lines.Where(line => line.Contains(" usempi ", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [MpiFact]
    public void UseMpi_ProgramInitializedTheGroup_ControllersLeaveFinalizeToTheProgram()
    {
        // Act: one controller given the program's group, one made with UseMpi() after the program took the group.
        var result = MpiRun.OpenMpi(2, ["programgroup"]);

        // Assert: MPI is finalized only when the program disposes its group.
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            ["rank 0 size 2 programgroup finalized 0 1", "rank 1 size 2 programgroup finalized 0 1"],
            result.Lines.Where(line => line.Contains(" programgroup ", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }
}
