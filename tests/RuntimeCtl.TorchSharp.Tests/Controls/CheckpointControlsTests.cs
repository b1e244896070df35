using System.Text.Json;
using RuntimeCtl.TorchSharp.Tests.Support;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Controls;

/// <summary><c>save_ckpt</c>, <c>load_ckpt</c> and <c>train.stop</c> with a save, through a real controller and queue directory.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CheckpointControlsTests
{
    [Fact]
    public void LoadCkpt_AfterSaveCkptAndMoreTraining_RestoresModelOptimizerAndStepBitExactly()
    {
        // Arrange: train, save under a label, remember everything, then train on and change the learning rate.
        using var steered = new SteeredLoop();
        using var scope = NewDisposeScope();
        steered.Train();
        steered.Train();
        steered.Train();
        var save = steered.Apply("save_ckpt", kwargs: new() { ["label"] = "best" });
        var weights = TorchAssert.Snapshot(steered.Model.state_dict().Values);
        var optimizerState = TorchAssert.StateBytes(steered.Optimizer);
        var position = steered.Controller.CommandPosition;
        steered.Train();
        steered.Apply("optimizer.lr", [0.5]);
        steered.Train();

        // Act
        var load = steered.Apply("load_ckpt", kwargs: new() { ["label"] = "best" });

        // Assert
        var directory = Path.Combine(steered.CheckpointRoot, "best");
        Assert.Equal("{\"label\":\"best\"}", save.Kwargs!.Value.GetRawText());
        Assert.Equal(3, save.Step);
        Assert.Equal(5, load.Step);
        Assert.Equal(3, steered.Loop.Step);
        TorchAssert.BitEqual(weights, steered.Model.state_dict().Values);
        Assert.Equal(optimizerState, TorchAssert.StateBytes(steered.Optimizer));
        Assert.Equal([0.01], OptimizerHyperparameters.GetLearningRates(steered.Optimizer));
        var info = TorchSharpCheckpoint.ReadInfo(directory);
        Assert.Equal(3, info.Step);
        Assert.True(info.CommandPosition >= 0 && info.CommandPosition <= position, $"{info.CommandPosition} vs {position}");
        Assert.Equal(directory, Assert.Single(steered.Loop.SavedCheckpoints).Directory);
        Assert.Equal(directory, steered.Loop.LoadedCheckpoint!.Directory);
    }

    [Fact]
    public void SaveCkpt_NoLabel_WritesStepNUnderTheQueueDirectory()
    {
        using var steered = new SteeredLoop();
        steered.Train();
        steered.Train();

        var ack = steered.Apply("save_ckpt");

        Assert.Equal("{}", ack.Kwargs!.Value.GetRawText());
        Assert.True(File.Exists(Path.Combine(steered.QueueDirectory, "checkpoints", "step-2", TorchSharpCheckpoint.ManifestFileName)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(steered.CheckpointRoot));
        }
    }

    [Fact]
    public void SaveCkpt_CheckpointRootOption_WritesThereAndLoadFindsTheLabelThere()
    {
        // Arrange
        var root = Path.Combine(Path.GetTempPath(), "runtimectl-torch-root-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var steered = new SteeredLoop(options: new TorchSharpControlsOptions { CheckpointRoot = root });
            steered.Train();

            // Act
            steered.Apply("save_ckpt", kwargs: new() { ["label"] = "mine" });
            steered.Train();
            steered.Apply("load_ckpt", kwargs: new() { ["label"] = "mine" });

            // Assert
            Assert.True(File.Exists(Path.Combine(root, "mine", TorchSharpCheckpoint.ManifestFileName)));
            Assert.False(Directory.Exists(steered.CheckpointRoot));
            Assert.Equal(1, steered.Loop.Step);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public void LoadCkpt_AbsolutePathUnderTheCheckpointRoot_Loads()
    {
        using var steered = new SteeredLoop();
        using var scope = NewDisposeScope();
        steered.Train();
        Directory.CreateDirectory(steered.CheckpointRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var directory = Path.Combine(steered.CheckpointRoot, "by-path");
        TorchSharpCheckpoint.Save(directory, steered.Model, steered.Optimizer, step: 1, commandPosition: 0);
        var weights = TorchAssert.Snapshot(steered.Model.state_dict().Values);
        steered.Train();

        var ack = steered.Apply("load_ckpt", kwargs: new() { ["path"] = directory });

        Assert.Equal(JsonValueKind.String, ack.Kwargs!.Value.GetProperty("path").ValueKind);
        TorchAssert.BitEqual(weights, steered.Model.state_dict().Values);
        Assert.Equal(1, steered.Loop.Step);
    }

    [Fact]
    public void LoadCkpt_OtherArchitecture_FailedAckAndModelOptimizerAndStepUntouched()
    {
        // Arrange: a checkpoint of a wider model in the checkpoint root.
        using var other = new SteeredLoop(hidden: 16);
        using var steered = new SteeredLoop();
        using var scope = NewDisposeScope();
        TorchSharpCheckpoint.Save(Path.Combine(Directory.CreateDirectory(steered.CheckpointRoot).FullName, "wide"), other.Model, other.Optimizer, step: 40, commandPosition: 0);
        steered.Train();
        var weights = TorchAssert.Snapshot(steered.Model.state_dict().Values);
        var optimizerState = TorchAssert.StateBytes(steered.Optimizer);

        // Act
        var ack = steered.Send("load_ckpt", kwargs: new() { ["label"] = "wide" });

        // Assert
        Assert.Equal(AckStatus.Failed, ack.Status);
        Assert.Contains("does not fit this model and optimizer", ack.Error, StringComparison.Ordinal);
        Assert.Contains("'fc1.weight' is [8, 4] Float32 in the model but [16, 4] Float32 in the checkpoint", ack.Error, StringComparison.Ordinal);
        TorchAssert.BitEqual(weights, steered.Model.state_dict().Values);
        Assert.Equal(optimizerState, TorchAssert.StateBytes(steered.Optimizer));
        Assert.Equal(1, steered.Loop.Step);
        Assert.Null(steered.Loop.LoadedCheckpoint);
    }

    [Fact]
    public void TrainStop_SaveTrue_SavesThenRequestsTheStop()
    {
        using var steered = new SteeredLoop();
        steered.Train();

        var ack = steered.Apply("train.stop", kwargs: new() { ["save"] = true, ["label"] = "final" });

        Assert.Equal("{\"save\":true,\"label\":\"final\"}", ack.Kwargs!.Value.GetRawText());
        Assert.True(steered.Loop.StopRequested);
        Assert.Equal(1, TorchSharpCheckpoint.ReadInfo(Path.Combine(steered.CheckpointRoot, "final")).Step);
    }

    [Fact]
    public void TrainStop_SaveFails_FailedAckAndTheLoopGoesOn()
    {
        // Arrange: a file where the checkpoint root should be, so the save cannot create it.
        using var steered = new SteeredLoop();
        File.WriteAllText(steered.CheckpointRoot, "not a directory");

        // Act
        var ack = steered.Send("train.stop", kwargs: new() { ["save"] = true });

        // Assert
        Assert.Equal(AckStatus.Failed, ack.Status);
        Assert.False(steered.Loop.StopRequested);
        Assert.True(steered.Loop.WaitWhilePaused(steered.Loop));
    }
}
