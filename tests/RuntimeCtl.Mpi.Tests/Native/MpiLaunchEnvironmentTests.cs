namespace RuntimeCtl.Mpi.Tests;

public sealed class MpiLaunchEnvironmentTests
{
    [Fact]
    public void Launcher_OpenMpiMpirunVariables_IsOpenMpi()
    {
        // Arrange
        var environment = Create(("OMPI_COMM_WORLD_SIZE", "2"), ("OMPI_COMM_WORLD_RANK", "1"), ("PMIX_RANK", "1"));

        // Act
        var launcher = environment.Launcher;

        // Assert
        Assert.Equal(MpiFlavor.OpenMpi, launcher);
    }

    [Theory]
    [InlineData("PMI_RANK")]
    [InlineData("PMI_SIZE")]
    [InlineData("HYDRA_CONTROL_FD")]
    public void Launcher_HydraVariable_IsMpich(string name)
    {
        // Arrange
        var environment = Create((name, "1"));

        // Act
        var launcher = environment.Launcher;

        // Assert
        Assert.Equal(MpiFlavor.Mpich, launcher);
    }

    [Fact]
    public void Launcher_OnlyOpenMpiTuningVariables_IsNone()
    {
        // Arrange: OMPI_MCA_* is often exported in a shell profile, with no launcher involved.
        var environment = Create(("OMPI_MCA_btl", "self,vader"), ("PATH", "/usr/bin"));

        // Act
        var launcher = environment.Launcher;

        // Assert
        Assert.Null(launcher);
    }

    [Fact]
    public void GetLibraryCandidates_NoLauncher_TriesOpenMpiFirstThenMpich()
    {
        // Arrange
        var environment = Create();

        // Act
        var candidates = environment.GetLibraryCandidates();

        // Assert
        Assert.Equal("libmpi.so.40", candidates[0]);
        Assert.Contains("libmpich.so.12", candidates);
        Assert.True(IndexOf(candidates, "libmpi.so.40") < IndexOf(candidates, "libmpich.so.12"));
    }

    [Fact]
    public void GetLibraryCandidates_UnderHydra_TriesMpichFirstThenOpenMpi()
    {
        // Arrange
        var environment = Create(("PMI_SIZE", "2"));

        // Act
        var candidates = environment.GetLibraryCandidates();

        // Assert
        Assert.Equal("libmpich.so.12", candidates[0]);
        Assert.Contains("libmpi.so.40", candidates);
    }

    [Theory]
    [InlineData("openmpi", "libmpi.so.40")]
    [InlineData("OpenMPI", "libmpi.so.40")]
    [InlineData(" mpich ", "libmpich.so.12")]
    [InlineData("MPICH", "libmpich.so.12")]
    public void GetLibraryCandidates_OverrideNamesAFlavour_TriesOnlyThatFlavour(string value, string first)
    {
        // Arrange
        var environment = Create(("RUNTIMECTL_MPI_LIBRARY", value), ("PMI_SIZE", "2"), ("OMPI_COMM_WORLD_SIZE", "2"));

        // Act
        var candidates = environment.GetLibraryCandidates();

        // Assert
        Assert.Equal(first, candidates[0]);
        var other = first == "libmpi.so.40" ? "libmpich.so.12" : "libmpi.so.40";
        Assert.DoesNotContain(other, candidates);
    }

    [Fact]
    public void GetLibraryCandidates_OverrideIsAPath_TriesOnlyThatPath()
    {
        // Arrange
        var environment = Create(("RUNTIMECTL_MPI_LIBRARY", "/opt/intel/mpi/lib/libmpi.so.12"));

        // Act
        var candidates = environment.GetLibraryCandidates();

        // Assert
        Assert.Equal(["/opt/intel/mpi/lib/libmpi.so.12"], candidates);
    }

    [Fact]
    public void LibraryOverride_Blank_IsNull()
    {
        // Arrange
        var environment = Create(("RUNTIMECTL_MPI_LIBRARY", "  "));

        // Act
        var library = environment.LibraryOverride;

        // Assert
        Assert.Null(library);
    }

    [Theory]
    [InlineData("OMPI_COMM_WORLD_SIZE", "4", 4)]
    [InlineData("PMI_SIZE", "3", 3)]
    public void LauncherWorldSize_LauncherSetsSize_ReturnsVariableAndSize(string name, string value, int size)
    {
        // Arrange
        var environment = Create((name, value));

        // Act
        var announced = environment.LauncherWorldSize;

        // Assert
        Assert.Equal((name, size), announced);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("two")]
    [InlineData("2 ")]
    public void LauncherWorldSize_SizeNotAPositiveNumber_IsNull(string value)
    {
        // Arrange
        var environment = Create(("OMPI_COMM_WORLD_SIZE", value));

        // Act
        var announced = environment.LauncherWorldSize;

        // Assert
        Assert.Null(announced);
    }

    private static MpiLaunchEnvironment Create(params (string Name, string Value)[] variables) =>
        new(variables.ToDictionary(v => v.Name, v => v.Value));

    private static int IndexOf(IReadOnlyList<string> list, string value) => list.ToList().IndexOf(value);
}
