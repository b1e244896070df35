using RuntimeCtl.TorchSharp.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Controls;

/// <summary>Each standard control, driven through a real controller and queue directory, changes what it claims.</summary>
public sealed class TorchSharpControllerExtensionsTests
{
    private static readonly string[] AdamWPaths =
    [
        "optimizer.lr", "optimizer.lr.multiplier", "optimizer.weight_decay", "optimizer.betas", "model.dropout.p",
        "train.grad_clip_norm", "save_ckpt", "load_ckpt", "train.pause", "train.resume", "train.stop",
    ];

    [Fact]
    public void AddTorchSharpControls_EveryControlButTheMultiplier_IsSafeToRepeat()
    {
        using var steered = new SteeredLoop();

        // A command the trainer was killed inside is applied again on restart for these; the multiplier is acked
        // "effect unknown" instead (applying it twice would halve the learning rate twice).
        foreach (var path in AdamWPaths)
        {
            var entry = steered.ControlEntry(path)!.Value;
            var safe = entry.TryGetProperty("safe_to_repeat", out var flag) && flag.GetBoolean();
            Assert.True(safe == (path != "optimizer.lr.multiplier"), path);
        }
    }

    [Fact]
    public void AddTorchSharpControls_AdamW_RegistersTheStandardControlsWithDescriptionsAndValues()
    {
        using var steered = new SteeredLoop();

        Assert.Equal(AdamWPaths, steered.Controller.ControlPaths);
        foreach (var path in AdamWPaths)
        {
            var entry = steered.ControlEntry(path);
            Assert.NotNull(entry);
            Assert.False(string.IsNullOrWhiteSpace(entry.Value.GetProperty("description").GetString()), path);
            Assert.True(entry.Value.TryGetProperty("value", out _), $"{path} has no value in controller.json");
        }

        Assert.Equal(0.01, steered.ControlEntry("optimizer.lr")!.Value.GetProperty("value").GetDouble());
        Assert.Equal(0.05, steered.ControlEntry("optimizer.weight_decay")!.Value.GetProperty("value").GetDouble());
        Assert.Equal("[0.9,0.999]", steered.ControlEntry("optimizer.betas")!.Value.GetProperty("value").GetRawText());
        Assert.Equal(0.1, steered.ControlEntry("model.dropout.p")!.Value.GetProperty("value").GetDouble());
        Assert.Equal("null", steered.ControlEntry("train.grad_clip_norm")!.Value.GetProperty("value").GetRawText());
        Assert.False(steered.ControlEntry("train.pause")!.Value.GetProperty("value").GetBoolean());
        Assert.Equal(
            "[{\"name\":\"p\",\"type\":\"number\",\"required\":true},{\"name\":\"module\",\"type\":\"string\",\"required\":false,\"keyword\":true}]",
            steered.ControlEntry("model.dropout.p")!.Value.GetProperty("params").GetRawText());
    }

    [Fact]
    public void AddTorchSharpControls_SgdWithoutDropout_HasMomentumButNoBetasAndNoDropout()
    {
        using var steered = new SteeredLoop(m => optim.SGD(m.parameters(), learningRate: 0.1, momentum: 0.9), dropout: false);

        Assert.Contains("optimizer.momentum", steered.Controller.ControlPaths);
        Assert.DoesNotContain("optimizer.betas", steered.Controller.ControlPaths);
        Assert.DoesNotContain("model.dropout.p", steered.Controller.ControlPaths);
        Assert.Equal(0.9, steered.ControlEntry("optimizer.momentum")!.Value.GetProperty("value").GetDouble());
    }

    [Fact]
    public void AddTorchSharpControls_PathAlreadyTaken_ThrowsAndRegistersNothing()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var model = nn.Linear(2, 1);
        using var optimizer = optim.AdamW(model.parameters());
        using var controller = new RuntimeController<object?>();
        controller.Register<double>("optimizer.lr", (_, _) => { });

        // Act
        var error = Assert.Throws<ControlRegistrationException>(() => controller.AddTorchSharpControls(new TorchSharpLoop(model, optimizer)));

        // Assert
        Assert.Equal("optimizer.lr", error.Path);
        Assert.Contains("'optimizer.lr'", error.Message, StringComparison.Ordinal);
        Assert.Equal(["optimizer.lr"], controller.ControlPaths);
    }

    [Fact]
    public void AddTorchSharpControls_SameLoopTwice_DoesNothingButAnotherControllerIsRefused()
    {
        using var steered = new SteeredLoop();
        using var other = new RuntimeController<TorchSharpLoop>();

        steered.Controller.AddTorchSharpControls(steered.Loop);
        var error = Assert.Throws<ArgumentException>(() => other.AddTorchSharpControls(steered.Loop));

        Assert.Equal(AdamWPaths, steered.Controller.ControlPaths);
        Assert.Empty(other.ControlPaths);
        Assert.Equal("loop", error.ParamName);
    }

    [Fact]
    public void OptimizerLr_Zero_TrainingStepChangesNoParameter()
    {
        // Arrange: AdamW with weight decay and momentum state, so only a zero learning rate keeps every bit still.
        using var steered = new SteeredLoop();
        steered.Train();
        using var scope = NewDisposeScope();

        // Act
        var ack = steered.Apply("optimizer.lr", [0]);
        var before = TorchAssert.Snapshot(steered.Model.parameters());
        steered.Train();
        steered.Train();

        // Assert
        Assert.Equal("[0]", ack.Args!.Value.GetRawText());
        Assert.Equal(1, ack.Step);
        TorchAssert.BitEqual(before, steered.Model.parameters());
    }

    [Fact]
    public void OptimizerLr_SeveralGroups_EveryGroupStepsWithTheNewRate()
    {
        // Arrange: two groups with different rates; plain SGD moves each parameter by exactly lr·grad.
        using var steered = new SteeredLoop(
            m => optim.SGD([new SGD.ParamGroup(m.parameters().Take(2), lr: 0.1), new SGD.ParamGroup(m.parameters().Skip(2), lr: 0.01)], learningRate: 0.1),
            dropout: false);
        using var scope = NewDisposeScope();

        // Act
        steered.Apply("optimizer.lr", ["0.25"]);
        var before = TorchAssert.Snapshot(steered.Model.parameters());
        steered.Optimizer.zero_grad();
        nn.functional.mse_loss(steered.Model.forward(steered.Inputs), steered.Targets).backward();
        var gradients = steered.Model.parameters().Select(p => p.grad!.clone()).ToList();
        steered.Optimizer.step();

        // Assert
        Assert.Equal([0.25, 0.25], OptimizerHyperparameters.GetLearningRates(steered.Optimizer));
        var after = steered.Model.parameters().ToList();
        for (var i = 0; i < after.Count; i++)
        {
            TorchAssert.Close(before[i] - (0.25 * gradients[i]), after[i]);
        }
    }

    [Fact]
    public void OptimizerLrMultiplier_Half_ParametersMoveByHalfTheRate()
    {
        // Arrange
        using var steered = new SteeredLoop(m => optim.SGD(m.parameters(), learningRate: 0.4), dropout: false);
        using var scope = NewDisposeScope();

        // Act
        var ack = steered.Apply("optimizer.lr.multiplier", [0.5]);
        var before = TorchAssert.Snapshot(steered.Model.parameters());
        steered.Optimizer.zero_grad();
        nn.functional.mse_loss(steered.Model.forward(steered.Inputs), steered.Targets).backward();
        var gradients = steered.Model.parameters().Select(p => p.grad!.clone()).ToList();
        steered.Optimizer.step();

        // Assert
        Assert.Equal("[0.5]", ack.Args!.Value.GetRawText());
        Assert.Equal([0.2], OptimizerHyperparameters.GetLearningRates(steered.Optimizer));
        var after = steered.Model.parameters().ToList();
        for (var i = 0; i < after.Count; i++)
        {
            TorchAssert.Close(before[i] - (0.2 * gradients[i]), after[i], relative: 1e-5);
        }
    }

    [Theory]
    [InlineData("AdamW")]
    [InlineData("SGD")]
    public void OptimizerWeightDecay_ZeroGradient_ParametersDecayByLrTimesWdPerStep(string kind)
    {
        // Arrange: with a zero gradient both AdamW's decoupled and SGD's coupled decay scale p by (1 − lr·wd) per step.
        const double Lr = 0.1;
        const double Wd = 0.3;
        using var steered = new SteeredLoop(
            m => kind == "SGD" ? optim.SGD(m.parameters(), learningRate: Lr) : optim.AdamW(m.parameters(), lr: Lr, weight_decay: 0),
            dropout: false);
        using var scope = NewDisposeScope();
        var start = TorchAssert.Snapshot(steered.Model.parameters());

        // Act
        steered.Apply("optimizer.weight_decay", [Wd]);
        for (var i = 0; i < 2; i++)
        {
            steered.Optimizer.zero_grad();
            foreach (var p in steered.Model.parameters())
            {
                p.grad = zeros_like(p);
            }

            steered.Optimizer.step();
        }

        // Assert
        var after = steered.Model.parameters().ToList();
        for (var i = 0; i < after.Count; i++)
        {
            TorchAssert.Close(start[i] * Math.Pow(1 - (Lr * Wd), 2), after[i], relative: 1e-5);
        }
    }

    [Fact]
    public void OptimizerMomentum_Sgd_SecondStepAddsTheMomentumBuffer()
    {
        // Arrange: plain SGD, lr 1, a constant gradient g: step 1 moves by g, step 2 by (1 + momentum)·g.
        using var steered = new SteeredLoop(m => optim.SGD(m.parameters(), learningRate: 1.0, momentum: 0), dropout: false);
        using var scope = NewDisposeScope();
        var start = TorchAssert.Snapshot(steered.Model.parameters());

        // Act
        steered.Apply("optimizer.momentum", [0.5]);
        for (var i = 0; i < 2; i++)
        {
            steered.Optimizer.zero_grad();
            foreach (var p in steered.Model.parameters())
            {
                p.grad = full_like(p, 0.01);
            }

            steered.Optimizer.step();
        }

        // Assert
        var after = steered.Model.parameters().ToList();
        for (var i = 0; i < after.Count; i++)
        {
            TorchAssert.Close(start[i] - 0.025, after[i], relative: 1e-5);
        }
    }

    [Fact]
    public void OptimizerBetas_TwoValues_EveryGroupGetsThem()
    {
        using var steered = new SteeredLoop();

        var ack = steered.Apply("optimizer.betas", [0.5, 0.75]);

        Assert.Equal("[0.5,0.75]", ack.Args!.Value.GetRawText());
        Assert.Equal([(0.5, 0.75)], OptimizerHyperparameters.GetBetas(steered.Optimizer));
    }

    [Fact]
    public void ModelDropoutP_AllModules_FractionOfZerosFollowsP()
    {
        // Arrange
        using var steered = new SteeredLoop();
        using var scope = NewDisposeScope();

        // Act
        var ack = steered.Apply("model.dropout.p", [0.6]);

        // Assert: each module now zeroes about 60 % of a large input.
        Assert.Equal("[0.6]", ack.Args!.Value.GetRawText());
        Assert.InRange(ZeroFraction(steered.Model, "drop1"), 0.59, 0.61);
        Assert.InRange(ZeroFraction(steered.Model, "drop2"), 0.59, 0.61);
    }

    [Fact]
    public void ModelDropoutP_ModuleKeyword_ChangesOnlyThatModule()
    {
        // Arrange
        using var steered = new SteeredLoop();
        using var scope = NewDisposeScope();

        // Act
        var ack = steered.Apply("model.dropout.p", ["0.5"], new() { ["module"] = "drop2" });

        // Assert: the numeric string is echoed as the number it became.
        Assert.Equal("[0.5]", ack.Args!.Value.GetRawText());
        Assert.Equal("{\"module\":\"drop2\"}", ack.Kwargs!.Value.GetRawText());
        Assert.InRange(ZeroFraction(steered.Model, "drop1"), 0.09, 0.11);
        Assert.InRange(ZeroFraction(steered.Model, "drop2"), 0.49, 0.51);
    }

    [Fact]
    public void TrainGradClipNorm_Value_ClipsTheGradientNormBeforeTheStep()
    {
        // Arrange
        using var steered = new SteeredLoop(dropout: false);
        using var scope = NewDisposeScope();

        // Act
        steered.Apply("train.grad_clip_norm", [1e-3]);
        steered.Optimizer.zero_grad();
        (nn.functional.mse_loss(steered.Model.forward(steered.Inputs), steered.Targets) * 100).backward();
        var before = steered.Loop.ClipGradients();

        // Assert
        Assert.True(before > 1e-3, $"The test's gradient norm {before} is too small to be clipped.");
        Assert.Equal(1e-3, TotalGradientNorm(steered.Model), 6);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(null)]
    public void TrainGradClipNorm_ZeroOrNull_TurnsClippingOff(double? off)
    {
        // Arrange
        using var steered = new SteeredLoop(dropout: false);
        using var scope = NewDisposeScope();
        steered.Apply("train.grad_clip_norm", [1e-3]);

        // Act
        var ack = steered.Apply("train.grad_clip_norm", [off]);
        steered.Optimizer.zero_grad();
        (nn.functional.mse_loss(steered.Model.forward(steered.Inputs), steered.Targets) * 100).backward();
        var norm = TotalGradientNorm(steered.Model);

        // Assert: the ack echoes the normalised value, and the gradients stay as they were.
        Assert.Equal("[null]", ack.Args!.Value.GetRawText());
        Assert.Null(steered.Loop.GradientClip.MaxNorm);
        Assert.Null(steered.Loop.ClipGradients());
        Assert.Equal(norm, TotalGradientNorm(steered.Model), 6);
    }

    public static TheoryData<string, object?[], Dictionary<string, object?>?, string> Refusals => new()
    {
        { "optimizer.lr", [-0.001], null, "optimizer.lr must be a learning rate of at least 0, got -0.001" },
        { "optimizer.lr", ["fast"], null, "optimizer.lr: argument 1 (lr) must be a number, got \"fast\"" },
        { "optimizer.lr", [], null, "optimizer.lr expects exactly 1 positional arg, got 0" },
        { "optimizer.lr.multiplier", [0], null, "optimizer.lr.multiplier must be a factor above 0, got 0" },
        { "optimizer.weight_decay", [-0.1], null, "optimizer.weight_decay must be at least 0, got -0.1" },
        { "optimizer.betas", [1.0, 0.9], null, "optimizer.betas needs two values each at least 0 and below 1, got 1 and 0.9" },
        { "model.dropout.p", [1.0], null, "model.dropout.p must be a probability at least 0 and below 1, got 1" },
        { "model.dropout.p", [-0.1], null, "model.dropout.p must be a probability at least 0 and below 1, got -0.1" },
        { "model.dropout.p", [true], null, "model.dropout.p: argument 1 (p) must be a number, got true" },
        { "model.dropout.p", [0.2], new() { ["module"] = "fc1" }, "the model has no dropout module named 'fc1'; they are: drop1, drop2" },
        { "model.dropout.p", [0.2], new() { ["layer"] = "drop1" }, "model.dropout.p got an unexpected keyword argument 'layer' (it takes 'module')" },
        { "train.grad_clip_norm", [-1], null, "train.grad_clip_norm must be a norm above 0, or 0 or null to turn clipping off, got -1" },
        { "save_ckpt", [], new() { ["label"] = "../escape" }, "save_ckpt: 'label' must be a plain directory name (no '/', '\\', '..' or leading '.'), got '../escape'" },
        { "save_ckpt", [], new() { ["label"] = "a/b" }, "got 'a/b'" },
        { "save_ckpt", [], new() { ["label"] = ".hidden" }, "got '.hidden'" },
        { "save_ckpt", [], new() { ["tag"] = "x" }, "save_ckpt got an unexpected keyword argument 'tag'" },
        { "load_ckpt", [], null, "load_ckpt needs exactly one of the keyword arguments 'label'" },
        { "load_ckpt", [], new() { ["label"] = "a", ["path"] = "/tmp/a" }, "load_ckpt needs exactly one of the keyword arguments 'label'" },
        { "load_ckpt", [], new() { ["path"] = "relative/dir" }, "load_ckpt: 'path' must be an absolute directory, got 'relative/dir'" },
        { "load_ckpt", [], new() { ["label"] = "missing" }, "There is no checkpoint directory" },
        { "train.stop", [], new() { ["label"] = "last" }, "train.stop: 'label' names the checkpoint saved before stopping, so it needs \"save\": true" },
        { "train.stop", [], new() { ["save"] = "yes" }, "train.stop: keyword 'save' must be true or false" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Control_BadArguments_FailedAckSaysWhyAndNothingChanges(string path, object?[] args, Dictionary<string, object?>? kwargs, string expected)
    {
        // Arrange
        using var steered = new SteeredLoop();
        using var scope = NewDisposeScope();
        var weights = TorchAssert.Snapshot(steered.Model.state_dict().Values);
        var optimizerState = TorchAssert.StateBytes(steered.Optimizer);

        // Act
        var ack = steered.Send(path, args, kwargs);

        // Assert: the same failure is in acks.jsonl, and the model, optimizer and loop are as they were.
        Assert.Equal(AckStatus.Failed, ack.Status);
        Assert.Contains(expected, ack.Error, StringComparison.Ordinal);
        Assert.Equal(ack.Error, steered.LastAckLine().GetProperty("error").GetString());
        TorchAssert.BitEqual(weights, steered.Model.state_dict().Values);
        Assert.Equal(optimizerState, TorchAssert.StateBytes(steered.Optimizer));
        Assert.Equal([0.1, 0.1], DropoutRates.Get(steered.Model).Select(m => m.Probability));
        Assert.Null(steered.Loop.GradientClip.MaxNorm);
        Assert.False(steered.Loop.StopRequested);
        Assert.Empty(steered.Loop.SavedCheckpoints);
        Assert.False(Directory.Exists(steered.Combine("escape")));
    }

    [Fact]
    public void OptimizerMomentum_OneOrAbove_FailedAckAndMomentumKept()
    {
        using var steered = new SteeredLoop(m => optim.SGD(m.parameters(), learningRate: 0.1, momentum: 0.9), dropout: false);

        var ack = steered.Send("optimizer.momentum", [1.0]);

        Assert.Equal(AckStatus.Failed, ack.Status);
        Assert.Equal("optimizer.momentum must be at least 0 and below 1, got 1 (e.g. 0.9)", ack.Error);
        Assert.Equal([0.9], OptimizerHyperparameters.GetMomenta(steered.Optimizer));
    }

    private static double ZeroFraction(Sequential model, string name)
    {
        var module = model.named_modules().Single(m => m.Item1 == name).Item2;
        using var output = ((nn.Module<Tensor, Tensor>)module).forward(ones(200_000));
        return output.eq(0).to_type(ScalarType.Float64).mean().item<double>();
    }

    private static double TotalGradientNorm(Sequential model) =>
        Math.Sqrt(model.parameters().Sum(p => p.grad!.pow(2).sum().item<float>()));
}
