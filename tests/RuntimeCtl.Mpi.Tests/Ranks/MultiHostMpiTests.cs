using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// Three fake hosts (network namespaces on a bridge of their own, each with its own hostname), built by
/// tests/fakehosts/fakehosts.sh for the tests that share them and removed afterwards.
/// </summary>
public sealed class FakeHosts : IDisposable
{
    public const int Count = 3;

    public FakeHosts()
    {
        if (FakeHostsFactAttribute.SkipReason is not null)
        {
            return;
        }

        var up = Script("up", Count.ToString(CultureInfo.InvariantCulture));
        Up = up.ExitCode == 0;
        Problem = up.ExitCode == 0 ? null : $"fakehosts.sh up failed ({up.ExitCode}): {up.Output}";
    }

    public bool Up { get; }

    public string? Problem { get; }

    public static string ScriptPath =>
        TestPaths.Recorded("FakeHostsScript");

    /// <summary>The processes inside a fake host's network namespace (holders, Open MPI daemons, ranks).</summary>
    public static int[] Pids(string host) =>
        [.. Run("ip", ["netns", "pids", host]).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture))];

    public static ProcessResult Script(params string[] arguments) => Run("bash", [ScriptPath, .. arguments]);

    public static ProcessResult Run(string file, string[] arguments) => ChildProcess.Run(file, arguments, TimeSpan.FromMinutes(5));

    /// <summary>Whether the bridge forwards frames to and from a fake host again (its port forwarding, its link up).</summary>
    public static bool Forwards(int host) =>
        Run("bridge", ["-n", "rtc-br", "link", "show", "dev", $"veth{host}"]).Stdout.Contains("state forwarding", StringComparison.Ordinal)
        && Run("ip", ["-n", $"rtc-h{host}", "link", "show", "eth0"]).Stdout.Contains("LOWER_UP", StringComparison.Ordinal);

    public void Dispose()
    {
        if (FakeHostsFactAttribute.SkipReason is null)
        {
            Script("down");
        }
    }
}

/// <summary>A fact that needs root, mpirun and network namespaces: skipped without them unless CI requires them.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class FakeHostsFactAttribute : FactAttribute
{
    public FakeHostsFactAttribute()
    {
        Skip = SkipReason;
    }

    public static string? SkipReason =>
        Environment.GetEnvironmentVariable("RUNTIMECTL_REQUIRE_ROOT") == "1" || MpiAvailability.Required ? null
        : !OperatingSystem.IsLinux() || Environment.UserName != "root" ? "needs root on Linux for network namespaces (RUNTIMECTL_REQUIRE_ROOT=1 fails instead)"
        : MpiAvailability.SkipReason;
}

/// <summary>
/// The MPI job with its ranks on three fake hosts that talk over TCP as on a cluster: rank 0's host owns the queue,
/// the CLI steers the job mid-run, and a rank killed on another host ends the whole job promptly.
/// </summary>
public sealed class MultiHostMpiTests(FakeHosts hosts, ITestOutputHelper output) : IClassFixture<FakeHosts>, IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private readonly TempQueueDirectory _queue = new();

    public void Dispose() => _queue.Dispose();

    [FakeHostsFact]
    public void Job_OnThreeHosts_IsSteeredByTheCliAndEveryRankEndsIdentical()
    {
        Assert.True(hosts.Up, hosts.Problem);
        using var job = Start(["--steps", "400", "--step-delay-ms", "10"]);
        Wait(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);

        var ranksElsewhere = Enumerable.Range(2, FakeHosts.Count - 1).Select(h => FakeHosts.Pids($"rtc-h{h}").Any(IsTrainingRank)).ToArray();
        var steer = Cli(["optimizer.lr.multiplier", "0.5", "--wait", "--timeout", "60"]);
        var result = job.WaitForExit(Guard);

        output.WriteLine(result.ToString());
        Assert.All(ranksElsewhere, Assert.True); // a rank really ran on rtc-h2 and on rtc-h3
        Assert.True(steer.ExitCode == 0, steer.Output);
        Assert.Contains($"\"ranks\":{FakeHosts.Count}", steer.Output, StringComparison.Ordinal);
        Assert.True(result.ExitCode == 0, result.ToString());
        var ends = result.Matching(@"^rank (\d+) checksum ([0-9a-f]+) lr (\S+)$");
        Assert.Equal(Enumerable.Range(0, FakeHosts.Count).Select(r => r.ToString(CultureInfo.InvariantCulture)), ends.Select(m => m.Groups[1].Value).Order());
        Assert.Single(ends.Select(m => m.Groups[2].Value).Distinct());
        Assert.All(ends, m => Assert.Equal(5e-4, double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)));
    }

    [FakeHostsFact]
    public void Job_RankKilledOnAnotherHost_EndsPromptlyAndTheNextRunRecoversTheQueue()
    {
        Assert.True(hosts.Up, hosts.Problem);
        using var job = Start(["--steps", "1000000", "--step-delay-ms", "5"]);
        Wait(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);
        var first = Cli(["optimizer.lr.multiplier", "0.5", "--wait", "--timeout", "60"]);
        Assert.True(first.ExitCode == 0, first.Output);

        KillTheRankOnRtcH2(job, "MpiControlPlane.dll");

        // The next run on the same queue: what was applied stays applied once, a new command is applied.
        var second = Cli(["optimizer.lr.multiplier", "2"]);
        Assert.True(second.ExitCode == 0, second.Output);
        var rerun = Start(["--steps", "30"]).WaitForExit(Guard);
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        var acks = _queue.ReadAcks();
        Assert.Equal(2, acks.Count);
        Assert.All(acks, a => Assert.Equal("applied", a.GetProperty("status").GetString()));
        Assert.All(rerun.Matching(@"^rank \d+ checksum \S+ lr (\S+)$"), m => Assert.Equal(2e-3, double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)));
    }

    [FakeHostsFact]
    public void TorchSharpJob_RankKilledOnAnotherHost_EndsPromptlyAndTheNextRunAppliesOnlyTheNewCommand()
    {
        Assert.True(hosts.Up, hosts.Problem);
        using var job = Start(["--steps", "1000000", "--step-delay-ms", "5", "--global-batch", "48"], DataParallelSample);
        Wait(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);
        var first = Cli(["optimizer.lr", "0.0005", "--wait", "--timeout", "60"]);
        Assert.True(first.ExitCode == 0, first.Output);

        KillTheRankOnRtcH2(job, "MpiTraining.dll");

        // A fresh run starts from lr 0.001: the old command (lr 0.0005) is not applied again, the new one doubles it.
        Assert.Equal(0, Cli(["optimizer.lr.multiplier", "2"]).ExitCode);
        var rerun = Start(["--steps", "30", "--global-batch", "48"], DataParallelSample).WaitForExit(Guard);
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        var ends = rerun.Matching(@"^rank \d+ checksum (\S+) lr (\S+)$");
        Assert.Equal(FakeHosts.Count, ends.Count);
        Assert.All(ends, m => Assert.Equal(2e-3, double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
        Assert.Single(ends.Select(m => m.Groups[1].Value).Distinct());
        Assert.Equal(2, _queue.ReadAcks().Count);
    }

    [FakeHostsFact]
    public void Job_LinkToAnotherHostCut_EndsWithinSecondsNotMinutes()
    {
        Assert.True(hosts.Up, hosts.Problem);
        using var job = Start(["--steps", "1000000", "--step-delay-ms", "5"]);
        Wait(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);

        var cut = Stopwatch.StartNew();
        var down = FakeHosts.Run("ip", ["-n", "rtc-br", "link", "set", "veth2", "down"]);
        ProcessResult result;
        try
        {
            result = job.WaitForExit(Guard);
            cut.Stop();
        }
        finally
        {
            FakeHosts.Run("ip", ["-n", "rtc-br", "link", "set", "veth2", "up"]);
            Eventually.Until(() => FakeHosts.Forwards(2), "the bridge forwarding to rtc-h2 again"); // for the tests after this one
        }

        output.WriteLine($"mpirun ended {cut.Elapsed.TotalSeconds:F2} s after the cut\n{result}");
        Assert.Equal(0, down.ExitCode);
        Assert.False(result.TimedOut, result.ToString());
        Assert.NotEqual(0, result.ExitCode);
        Assert.True(cut.Elapsed < TimeSpan.FromSeconds(60), $"the job took {cut.Elapsed.TotalSeconds:F1} s to end after its link was cut");
    }

    [FakeHostsFact]
    public void TorchSharpJob_CheckpointOnRankZerosOwnDisk_LoadsOnEveryHostAndTheReplicasStayIdentical()
    {
        Assert.True(hosts.Up, hosts.Problem);

        // Each fake host has its own /dev/shm: a checkpoint there is on rank 0's disk only.
        var root = "/dev/shm/rtc-ckpt-" + Guid.NewGuid().ToString("N")[..8];
        using var job = Start(["--steps", "1000000", "--step-delay-ms", "5", "--global-batch", "48", "--checkpoint-root", root], DataParallelSample);
        Wait(job, "rank 0's first poll", () => _queue.ControllerStep() is not null);
        var save = Cli(["save_ckpt", "--kwargs", "{\"label\":\"mid\"}", "--wait", "--timeout", "60"]);
        var elsewhere = FakeHosts.Run("bash", [FakeHosts.ScriptPath, "exec", "rtc-h2", "test", "-e", root]);
        var load = Cli(["load_ckpt", "--kwargs", "{\"label\":\"mid\"}", "--wait", "--timeout", "60"]);
        var stop = Cli(["train.stop", "--wait", "--timeout", "60"]);
        var result = job.WaitForExit(Guard);

        output.WriteLine($"{save.Output}\n{load.Output}\n{result}");
        Assert.True(save.ExitCode == 0, save.Output);
        Assert.NotEqual(0, elsewhere.ExitCode); // rtc-h2 cannot see the checkpoint
        Assert.True(load.ExitCode == 0, load.Output);
        Assert.Contains($"\"ranks\":{FakeHosts.Count}", load.Output, StringComparison.Ordinal);
        Assert.True(stop.ExitCode == 0, stop.Output);
        Assert.True(result.ExitCode == 0, result.ToString());
        var ends = result.Matching(@"^rank (\d+) checksum ([0-9a-f]+) lr (\S+)$");
        Assert.Equal(FakeHosts.Count, ends.Count);
        Assert.Single(ends.Select(m => m.Groups[2].Value).Distinct());
    }

    private static string DataParallelSample =>
        TestPaths.Recorded("DataParallelSamplePath");

    private MpiJob Start(string[] arguments) => Start(arguments, MpiRun.ControlPlanePath);

    private MpiJob Start(string[] arguments, string program)
    {
        var mpirun = MpiAvailability.RequireMpirun();
        var agent = Path.Combine(Path.GetDirectoryName(FakeHosts.ScriptPath)!, "agent.sh");
        return MpiJob.Start(
            "bash",
            sessionDirectory =>
            [
                FakeHosts.ScriptPath, "exec", "rtc-h1", mpirun,
                "--allow-run-as-root", "--np", FakeHosts.Count.ToString(CultureInfo.InvariantCulture),
                "--hostfile", "/run/rtc-fakehosts/hostfile", "--mca", "plm_rsh_agent", agent,
                "--mca", "orte_tmpdir_base", sessionDirectory,
                // Ranks talk over TCP on the fake hosts' network only, as on a cluster.
                "--mca", "pml", "ob1", "--mca", "btl", "tcp,self",
                "--mca", "btl_tcp_if_include", "10.213.77.0/24", "--mca", "oob_tcp_if_include", "10.213.77.0/24",
                // A dead rank ends the job at once; a cut link within seconds, not minutes.
                "--mca", "odls_base_sigkill_timeout", "0",
                "--mca", "oob_tcp_keepalive_time", "2", "--mca", "oob_tcp_keepalive_intvl", "1", "--mca", "oob_tcp_keepalive_probes", "3",
                MpiRun.DotnetHost, program, "--queue", _queue.Dir, .. arguments,
            ],
            environment: null);
    }

    private ProcessResult Cli(string[] arguments)
    {
        var cli = TestPaths.Recorded("CliAssemblyPath");
        return FakeHosts.Run(MpiRun.DotnetHost, [cli, "-q", _queue.Dir, .. arguments]);
    }

    /// <summary>Kills the rank on rtc-h2 (running <paramref name="program"/>) and asserts that the whole job ends within seconds, not normally.</summary>
    private void KillTheRankOnRtcH2(MpiJob job, string program)
    {
        var victim = FakeHosts.Pids("rtc-h2").Single(pid => CommandLine(pid).Contains(program, StringComparison.Ordinal));
        var killed = Stopwatch.StartNew();
        Process.GetProcessById(victim).Kill();
        var result = job.WaitForExit(Guard);
        killed.Stop();

        output.WriteLine($"mpirun ended {killed.Elapsed.TotalSeconds:F2} s after the kill\n{result}");
        Assert.False(result.TimedOut, result.ToString());
        Assert.NotEqual(0, result.ExitCode);
        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(30), $"the job took {killed.Elapsed.TotalSeconds:F1} s to end after a rank died");
    }

    private static bool IsTrainingRank(int pid) => CommandLine(pid).Contains("MpiControlPlane.dll", StringComparison.Ordinal);

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static void Wait(MpiJob job, string what, Func<bool> condition) => Eventually.Until(condition, what, Guard, job.Process);
}
