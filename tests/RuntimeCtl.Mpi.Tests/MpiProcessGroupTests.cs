using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// <see cref="MpiProcessGroup"/> against the real Open MPI: the test host under mpirun, plus one singleton in this
/// process. In the mpirun collection, so these run one after another and never oversubscribe the machine further.
/// </summary>
[Collection(MpirunTests.Collection)]
public sealed class MpiProcessGroupTests(ITestOutputHelper output)
{
    private const string OkLine = @"^rank (\d+) size (\d+) ok ([0-9a-f]{16})$";

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void Initialize_UnderMpirun_EveryRankPassesEveryCollective(int ranks)
    {
        // Act
        var result = MpiRun.OpenMpi(ranks, ["check"]);

        // Assert
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        AssertEveryRankOk(result, ranks);
    }

    [MpichFact]
    public void Initialize_UnderMpich_EveryRankPassesEveryCollective()
    {
        // Act
        var result = MpiRun.Mpich(2, ["check"]);

        // Assert
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        AssertEveryRankOk(result, 2);
    }

    [MpiTheory]
    [InlineData("crash", 2)]
    [InlineData("crash", 4)]
    [InlineData("failfast", 2)]
    public void Collectives_OneRankDiesMidJob_JobEndsInsteadOfHanging(string mode, int ranks)
    {
        // Act
        var result = MpiRun.OpenMpi(ranks, [mode], timeout: TimeSpan.FromSeconds(20));

        // Assert
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"rank 1 size {ranks} crashing", result.StdoutLines);
        Assert.DoesNotContain(result.StdoutLines, line => line.EndsWith(" survived", StringComparison.Ordinal));
    }

    [MpiFact]
    public void Initialize_LauncherAnnouncesAnotherWorldSize_ThrowsAndSaysHowToFix()
    {
        // Arrange: what a process sees when MPICH's mpiexec starts it but the library loaded is Open MPI's.
        var environment = new Dictionary<string, string> { ["PMI_SIZE"] = "2", ["PMI_RANK"] = "0" };

        // Act
        var result = MpiRun.Alone(["init"], environment);

        // Assert
        output.WriteLine(result.ToString());
        Assert.Equal(2, result.ExitCode);
        var error = Assert.Single(result.StdoutLines, line => line.StartsWith("error ", StringComparison.Ordinal));
        Assert.Contains("world of 1 rank(s)", error);
        Assert.Contains("PMI_SIZE=2", error);
        Assert.Contains("RUNTIMECTL_MPI_LIBRARY", error);
    }

    [MpiFact]
    public void Initialize_LibraryOverrideCannotBeLoaded_ThrowsAndNamesTheVariable()
    {
        // Arrange
        var environment = new Dictionary<string, string> { ["RUNTIMECTL_MPI_LIBRARY"] = "/nonexistent/libmpi.so" };

        // Act
        var result = MpiRun.Alone(["init"], environment);

        // Assert
        output.WriteLine(result.ToString());
        Assert.Equal(2, result.ExitCode);
        var error = Assert.Single(result.StdoutLines, line => line.StartsWith("error ", StringComparison.Ordinal));
        Assert.Contains("/nonexistent/libmpi.so", error);
        Assert.Contains("Set RUNTIMECTL_MPI_LIBRARY to 'openmpi', 'mpich'", error);
    }

    [MpiFact]
    public void Initialize_WithoutLauncherOrSshOnPath_StartsASingleton()
    {
        // Arrange: Open MPI's singleton start-up aborts the process when it finds neither ssh nor rsh.
        var emptyPath = Directory.CreateTempSubdirectory("runtimectl-mpi-path-");
        try
        {
            var environment = new Dictionary<string, string> { ["PATH"] = emptyPath.FullName };

            // Act
            var result = MpiRun.Alone(["check"], environment);

            // Assert
            output.WriteLine(result.ToString());
            Assert.True(result.ExitCode == 0, result.ToString());
            AssertEveryRankOk(result, 1);
        }
        finally
        {
            emptyPath.Delete();
        }
    }

    [MpiFact]
    public void Initialize_AfterDisposeFinalizedMpi_Throws()
    {
        // Act
        var result = MpiRun.Alone(["reinit"]);

        // Assert
        output.WriteLine(result.ToString());
        Assert.Equal(0, result.ExitCode);
        var line = Assert.Single(result.StdoutLines);
        Assert.StartsWith("rank 0 size 1 reinit refused ", line);
        Assert.Contains("cannot be initialised again", line);
    }

    [MpiFact]
    public void Initialize_ProgramInitialisedMpiItself_ReusesItAndLeavesFinalizeToTheProgram()
    {
        // Act
        var result = MpiRun.OpenMpi(2, ["preinit"]);

        // Assert
        output.WriteLine(result.ToString());
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["rank 0 size 2 preinit ok", "rank 1 size 2 preinit ok"], result.StdoutLines.Order(StringComparer.Ordinal));
    }

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void BroadcastAndGather_SmallBlocks_ReportCostPerIteration(int ranks)
    {
        // Act: speed is measured in benchmarks/, this only proves the loop runs and reports.
        var result = MpiRun.OpenMpi(ranks, ["bench", "500"]);

        // Assert
        output.WriteLine(result.ToString());
        Assert.Equal(0, result.ExitCode);
        var lines = result.Matching(@"^rank (\d+) size (\d+) bench (\d+) ns/iter 500$");
        Assert.Equal(ranks, lines.Count);
        Assert.All(lines, match => Assert.True(double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture) > 0));
    }

    [MpiFact]
    public void Initialize_WithoutLauncherInThisProcess_IsASingletonThatKeepsTheRuntimeWorking()
    {
        // Arrange: never disposed, because MPI could not be initialised again in this test process. Its session
        // files go to a directory of its own rather than /tmp/ompi.*, since it is never finalized.
        NativeEnvironment.SetDefault("OMPI_MCA_orte_tmpdir_base", Directory.CreateTempSubdirectory("runtimectl-mpi-singleton-").FullName);
        var group = MpiProcessGroup.Initialize();
        var buffer = new byte[] { 1, 2, 3 };
        var gathered = new byte[3];
        var sums = new[] { 1.5f, 2.5f };

        // Act
        group.Barrier();
        group.Broadcast(buffer);
        group.Gather(buffer, gathered);
        group.AllReduceSum(sums);

        // Assert
        Assert.Same(group, MpiProcessGroup.Initialize());
        Assert.Equal((0, 1), (group.Rank, group.Size));
        Assert.Equal(buffer, gathered);
        Assert.Equal([1.5f, 2.5f], sums);
        Assert.StartsWith("Open MPI", group.LibraryVersion);
        Assert.Throws<NullReferenceException>(() => ((object?)null)!.GetHashCode());
        Assert.Throws<ArgumentException>(() => group.Gather(buffer, new byte[2]));
        AssertChildProcessesStillWork();
    }

    private static void AssertEveryRankOk(ProcessResult result, int ranks)
    {
        var lines = result.Matching(OkLine);
        Assert.True(lines.Count == ranks, result.ToString());
        Assert.Equal(Enumerable.Range(0, ranks), lines.Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order());
        Assert.All(lines, m => Assert.Equal(ranks.ToString(CultureInfo.InvariantCulture), m.Groups[2].Value));
        Assert.Single(lines.Select(m => m.Groups[3].Value).Distinct());
    }

    private static void AssertChildProcessesStillWork()
    {
        // Open MPI's singleton start-up must leave SIGCHLD to the runtime, or Process waits would never return.
        using var child = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "exit 7"]) { UseShellExecute = false })!;
        Assert.True(child.WaitForExit(TimeSpan.FromSeconds(10)), "a child process started after MPI_Init never reported its exit");
        Assert.Equal(7, child.ExitCode);
    }
}
