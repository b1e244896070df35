using System.Diagnostics;
using RuntimeCtl.TorchSharp.Tests.Support;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Controls;

/// <summary>Whoever can send commands must not make the job load weights it did not save, or trust another user's checkpoint.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CheckpointTrustTests
{
    [Fact]
    public void LoadCkpt_AbsolutePathOutsideTheCheckpointRoot_FailedAckAndModelUntouched()
    {
        using var steered = new SteeredLoop();
        using var scope = NewDisposeScope();
        steered.Train();
        var outside = steered.Combine("elsewhere", "ckpt");
        TorchSharpCheckpoint.Save(outside, steered.Model, steered.Optimizer, step: 1, commandPosition: 0);
        steered.Train();
        var weights = TorchAssert.Snapshot(steered.Model.state_dict().Values);

        var ack = steered.Send("load_ckpt", kwargs: new() { ["path"] = outside });

        Assert.Equal(AckStatus.Failed, ack.Status);
        Assert.Contains("outside the checkpoint root", ack.Error, StringComparison.Ordinal);
        TorchAssert.BitEqual(weights, steered.Model.state_dict().Values);
    }

    [Fact]
    public void LoadCkpt_LabelThatClimbsOutOfTheRoot_FailedAck()
    {
        using var steered = new SteeredLoop();
        steered.Train();

        var ack = steered.Send("load_ckpt", kwargs: new() { ["path"] = Path.Combine(steered.CheckpointRoot, "..", "..") });

        Assert.Equal(AckStatus.Failed, ack.Status);
    }

    [Fact]
    public void LoadCkpt_AbsolutePathUnderAnAllowedRoot_Loads()
    {
        var allowed = Path.Combine(Path.GetTempPath(), "runtimectl-allowed-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var steered = new SteeredLoop(options: new TorchSharpControlsOptions { AllowedLoadRoots = [allowed] });
            using var scope = NewDisposeScope();
            steered.Train();
            var checkpoint = Path.Combine(allowed, "ckpt");
            TorchSharpCheckpoint.Save(checkpoint, steered.Model, steered.Optimizer, step: 1, commandPosition: 0);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(allowed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var ack = steered.Send("load_ckpt", kwargs: new() { ["path"] = checkpoint });

            Assert.Equal(AckStatus.Applied, ack.Status);
            Assert.Equal(1, steered.Loop.Step);
        }
        finally
        {
            Directory.Delete(allowed, recursive: true);
        }
    }

    [Fact]
    public void LoadCkpt_CheckpointWritableByOthers_FailedAck()
    {
        using var steered = new SteeredLoop();
        steered.Train();
        steered.Apply("save_ckpt", kwargs: new() { ["label"] = "best" });
        var directory = Path.Combine(steered.CheckpointRoot, "best");
        File.SetUnixFileMode(directory, File.GetUnixFileMode(directory) | UnixFileMode.OtherWrite);

        var ack = steered.Send("load_ckpt", kwargs: new() { ["label"] = "best" });

        Assert.Equal(AckStatus.Failed, ack.Status);
        Assert.Contains("writable by other users", ack.Error, StringComparison.Ordinal);
    }

    [RootFact]
    public void LoadCkpt_CheckpointOfAnotherUser_FailedAck()
    {
        using var steered = new SteeredLoop();
        steered.Train();
        steered.Apply("save_ckpt", kwargs: new() { ["label"] = "theirs" });
        var directory = Path.Combine(steered.CheckpointRoot, "theirs");
        using (var chown = Process.Start("chown", ["-R", "65534", directory]))
        {
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }

        var ack = steered.Send("load_ckpt", kwargs: new() { ["label"] = "theirs" });

        Assert.Equal(AckStatus.Failed, ack.Status);
        Assert.Contains("belongs to another user (uid 65534)", ack.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void SaveCkpt_NewCheckpoint_IsOwnerOnly()
    {
        using var steered = new SteeredLoop();
        steered.Train();

        steered.Apply("save_ckpt", kwargs: new() { ["label"] = "mine" });

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(steered.CheckpointRoot, "mine")));
    }
}
