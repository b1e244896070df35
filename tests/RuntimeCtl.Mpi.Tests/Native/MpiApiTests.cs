namespace RuntimeCtl.Mpi.Tests;

public sealed class MpiApiTests
{
    [Fact]
    public void Load_NoCandidateExists_ThrowsWithInstallCommand()
    {
        // Act
        var exception = Assert.Throws<ProcessGroupException>(() => MpiApi.Load(["libmpi-runtimectl-missing.so.99"], fromOverride: false));

        // Assert
        Assert.Contains("libmpi-runtimectl-missing.so.99", exception.Message);
        Assert.Contains("apt-get install openmpi-bin", exception.Message);
        Assert.Null(exception.ErrorCode);
        Assert.Null(exception.FunctionName);
    }

    [Fact]
    public void Load_LibraryIsNotMpi_ThrowsNamingTheMissingEntryPoint()
    {
        // Act
        var exception = Assert.Throws<ProcessGroupException>(() => MpiApi.Load(["libc.so.6"], fromOverride: true));

        // Assert
        Assert.Contains("libc.so.6 does not export MPI_Init", exception.Message);
        Assert.Contains("RUNTIMECTL_MPI_LIBRARY", exception.Message);
    }
}
