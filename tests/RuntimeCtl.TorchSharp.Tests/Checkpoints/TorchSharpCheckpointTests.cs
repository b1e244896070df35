using RuntimeCtl.TorchSharp.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Checkpoints;

public sealed class TorchSharpCheckpointTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly Tensor _inputs;
    private readonly Tensor _targets;

    public TorchSharpCheckpointTests()
    {
        using var generator = new Generator(7);
        _inputs = randn(32, 4, generator: generator);
        _targets = randn(32, 1, generator: generator);
    }

    private string CheckpointDirectory => _temp.Combine("checkpoint");

    [Fact]
    public void Load_AfterSave_RestoresModelAndOptimizerBitExactly()
    {
        using var scope = NewDisposeScope();
        // Arrange: a trained model with buffers (batch norm), and a fresh one with other weights and hyperparameters.
        var (saved, savedOptimizer) = Build(hidden: 8, "fc1");
        Train(saved, savedOptimizer, steps: 3);
        TorchSharpCheckpoint.Save(CheckpointDirectory, saved, savedOptimizer, step: 3, commandPosition: 7);
        var (restored, restoredOptimizer) = Build(hidden: 8, "fc1", lr: 0.5, weightDecay: 0.2);

        // Act
        var info = TorchSharpCheckpoint.Load(CheckpointDirectory, restored, restoredOptimizer);

        // Assert: weights, buffers, moments, step counts, learning rate and weight decay all equal to the bit,
        // and both keep training identically.
        Assert.Equal(3, info.Step);
        Assert.Equal(7, info.CommandPosition);
        TorchAssert.BitEqual(TorchAssert.Snapshot(saved.state_dict().Values), restored.state_dict().Values);
        Assert.Equal(TorchAssert.StateBytes(savedOptimizer), TorchAssert.StateBytes(restoredOptimizer));
        Assert.Equal([0.01], OptimizerHyperparameters.GetLearningRates(restoredOptimizer));
        Assert.Equal([0.05], OptimizerHyperparameters.GetWeightDecays(restoredOptimizer));
        Train(saved, savedOptimizer, steps: 2);
        Train(restored, restoredOptimizer, steps: 2);
        TorchAssert.BitEqual(TorchAssert.Snapshot(saved.state_dict().Values), restored.state_dict().Values);
    }

    [Fact]
    public void Load_OtherLayerSizes_RefusedWithoutTouchingModelOrOptimizer()
    {
        using var scope = NewDisposeScope();
        // Arrange
        var (saved, savedOptimizer) = Build(hidden: 8, "fc1");
        TorchSharpCheckpoint.Save(CheckpointDirectory, saved, savedOptimizer, step: 1, commandPosition: 0);
        var (other, otherOptimizer) = Build(hidden: 16, "fc1");
        Train(other, otherOptimizer, steps: 1);
        var weights = TorchAssert.Snapshot(other.state_dict().Values);
        var optimizerState = TorchAssert.StateBytes(otherOptimizer);

        // Act
        var error = Assert.Throws<CheckpointMismatchException>(() => TorchSharpCheckpoint.Load(CheckpointDirectory, other, otherOptimizer));

        // Assert
        Assert.Contains("'fc1.weight' is [16, 4] Float32 in the model but [8, 4] Float32 in the checkpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was loaded", error.Message, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(CheckpointDirectory), error.Directory);
        TorchAssert.BitEqual(weights, other.state_dict().Values);
        Assert.Equal(optimizerState, TorchAssert.StateBytes(otherOptimizer));
    }

    [Fact]
    public void Load_SameShapesOtherNames_RefusedWithoutTouchingModel()
    {
        using var scope = NewDisposeScope();
        // Arrange
        var (saved, savedOptimizer) = Build(hidden: 8, "fc1");
        TorchSharpCheckpoint.Save(CheckpointDirectory, saved, savedOptimizer, step: 1, commandPosition: 0);
        var (other, otherOptimizer) = Build(hidden: 8, "dense1");
        var weights = TorchAssert.Snapshot(other.state_dict().Values);

        // Act
        var error = Assert.Throws<CheckpointMismatchException>(() => TorchSharpCheckpoint.Load(CheckpointDirectory, other, otherOptimizer));

        // Assert
        Assert.Contains(error.Differences, d => d.Contains("The model has 'dense1.weight'", StringComparison.Ordinal));
        Assert.Contains(error.Differences, d => d.Contains("The checkpoint has 'fc1.weight'", StringComparison.Ordinal));
        TorchAssert.BitEqual(weights, other.state_dict().Values);
    }

    [Fact]
    public void Load_OtherOptimizerType_RefusedWithoutTouchingModelOrOptimizer()
    {
        using var scope = NewDisposeScope();
        // Arrange
        var (saved, savedOptimizer) = Build(hidden: 8, "fc1");
        TorchSharpCheckpoint.Save(CheckpointDirectory, saved, savedOptimizer, step: 1, commandPosition: 0);
        var (other, _) = Build(hidden: 8, "fc1");
        using var sgd = optim.SGD(other.parameters(), learningRate: 0.1, momentum: 0.9);
        var weights = TorchAssert.Snapshot(other.state_dict().Values);
        var optimizerState = TorchAssert.StateBytes(sgd);

        // Act
        var error = Assert.Throws<CheckpointMismatchException>(() => TorchSharpCheckpoint.Load(CheckpointDirectory, other, sgd));

        // Assert
        Assert.Contains("The optimizer is SGD but the checkpoint was saved from AdamW.", error.Differences);
        TorchAssert.BitEqual(weights, other.state_dict().Values);
        Assert.Equal(optimizerState, TorchAssert.StateBytes(sgd));
    }

    [Fact]
    public void Load_DamagedModelFile_ThrowsInvalidDataWithoutTouchingModel()
    {
        using var scope = NewDisposeScope();
        // Arrange
        var (saved, savedOptimizer) = Build(hidden: 8, "fc1");
        TorchSharpCheckpoint.Save(CheckpointDirectory, saved, savedOptimizer, step: 1, commandPosition: 0);
        var modelFile = Path.Combine(CheckpointDirectory, "model.bin");
        var bytes = File.ReadAllBytes(modelFile);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(modelFile, bytes);
        var (other, otherOptimizer) = Build(hidden: 8, "fc1");
        var weights = TorchAssert.Snapshot(other.state_dict().Values);

        // Act
        var error = Assert.Throws<InvalidDataException>(() => TorchSharpCheckpoint.Load(CheckpointDirectory, other, otherOptimizer));

        // Assert
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
        TorchAssert.BitEqual(weights, other.state_dict().Values);
    }

    [Fact]
    public void Save_OverAnEarlierCheckpoint_ReplacesItAndLeavesNoStagingDirectory()
    {
        using var scope = NewDisposeScope();
        // Arrange
        var (model, optimizer) = Build(hidden: 8, "fc1");
        TorchSharpCheckpoint.Save(CheckpointDirectory, model, optimizer, step: 1, commandPosition: 1);

        // Act
        TorchSharpCheckpoint.Save(CheckpointDirectory, model, optimizer, step: 2, commandPosition: 5);

        // Assert
        var info = TorchSharpCheckpoint.ReadInfo(CheckpointDirectory);
        Assert.Equal((2L, 5L), (info.Step, info.CommandPosition));
        Assert.Equal(["checkpoint"], Directory.EnumerateFileSystemEntries(_temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Save_Manifest_RecordsTheArchitectureSignature()
    {
        using var scope = NewDisposeScope();
        var (model, optimizer) = Build(hidden: 8, "fc1");

        TorchSharpCheckpoint.Save(CheckpointDirectory, model, optimizer, step: 4, commandPosition: 2);

        var info = TorchSharpCheckpoint.ReadInfo(CheckpointDirectory);
        Assert.Equal("AdamW", info.OptimizerType);
        Assert.Contains(new CheckpointTensor("fc1.weight", [8, 4], "Float32"), info.Tensors);
        Assert.Contains(new CheckpointTensor("norm.running_mean", [8], "Float32"), info.Tensors);
        Assert.Equal(["manifest.json", "model.bin", "optimizer.bin"], Directory.EnumerateFiles(CheckpointDirectory).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Save_Manifest_KeepsTheVersionOneKeyOfTheCommandPosition()
    {
        // CommandPosition was AppliedCommandPosition: checkpoints written before the rename must still read.
        using var scope = NewDisposeScope();
        var (model, optimizer) = Build(hidden: 8, "fc1");

        TorchSharpCheckpoint.Save(CheckpointDirectory, model, optimizer, step: 4, commandPosition: 7);

        using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(CheckpointDirectory, "manifest.json")));
        Assert.Equal(7, manifest.RootElement.GetProperty("applied_command_position").GetInt64());
    }

    [Fact]
    public void Save_IntoNonEmptyDirectoryWithoutCheckpoint_ThrowsAndLeavesItAlone()
    {
        using var scope = NewDisposeScope();
        var (model, optimizer) = Build(hidden: 8, "fc1");
        Directory.CreateDirectory(CheckpointDirectory);
        var precious = Path.Combine(CheckpointDirectory, "notes.txt");
        File.WriteAllText(precious, "keep me");

        var error = Assert.Throws<IOException>(() => TorchSharpCheckpoint.Save(CheckpointDirectory, model, optimizer, step: 1, commandPosition: 0));

        Assert.Contains("not empty", error.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(precious));
    }

    [Fact]
    public void ReadInfo_MissingDirectory_ThrowsDirectoryNotFound()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<DirectoryNotFoundException>(() => TorchSharpCheckpoint.ReadInfo(_temp.Combine("nowhere")));
    }

    [Fact]
    public void Load_DirectoryWithoutManifest_ThrowsFileNotFound()
    {
        using var scope = NewDisposeScope();
        var (model, optimizer) = Build(hidden: 8, "fc1");
        Directory.CreateDirectory(CheckpointDirectory);

        Assert.Throws<FileNotFoundException>(() => TorchSharpCheckpoint.Load(CheckpointDirectory, model, optimizer));
    }

    public void Dispose()
    {
        _inputs.Dispose();
        _targets.Dispose();
        _temp.Dispose();
    }

    private static (Sequential Model, AdamW Optimizer) Build(int hidden, string firstLayer, double lr = 0.01, double weightDecay = 0.05)
    {
        var model = nn.Sequential(
            (firstLayer, nn.Linear(4, hidden)),
            ("norm", nn.BatchNorm1d(hidden)),
            ("act", nn.Tanh()),
            ("fc2", nn.Linear(hidden, 1)));
        model.train();
        return (model, optim.AdamW(model.parameters(), lr: lr, weight_decay: weightDecay));
    }

    private void Train(Sequential model, AdamW optimizer, int steps)
    {
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.mse_loss(model.forward(_inputs), _targets).backward();
            optimizer.step();
        }
    }
}
