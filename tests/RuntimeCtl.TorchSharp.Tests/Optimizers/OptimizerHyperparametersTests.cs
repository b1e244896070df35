using RuntimeCtl.TorchSharp.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Optimizers;

public sealed class OptimizerHyperparametersTests
{
    public static TheoryData<string> OptimizerKinds => ["AdamW", "Adam", "SGD", "RMSProp"];

    [Theory]
    [MemberData(nameof(OptimizerKinds))]
    public void SetLearningRate_Zero_StepChangesNoParameter(string kind)
    {
        // Arrange: weight decay and momentum on, so only a zero learning rate can keep the parameters still.
        using var scope = NewDisposeScope();
        var parameter = NewParameter(1f, -2f, 3f);
        using var optimizer = Create(kind, [parameter], lr: 0.1, weightDecay: 0.5);
        Step(optimizer, parameter, Gradient(0.5f, 1f, -1f));
        var before = TorchAssert.Snapshot([parameter]);

        // Act
        OptimizerHyperparameters.SetLearningRate(optimizer, 0);
        Step(optimizer, parameter, Gradient(0.5f, 1f, -1f));

        // Assert
        TorchAssert.BitEqual(before, [parameter]);
        Assert.All(OptimizerHyperparameters.GetLearningRates(optimizer), lr => Assert.Equal(0, lr));
    }

    [Fact]
    public void SetLearningRate_SeveralGroups_EveryGroupStepsWithTheNewRate()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var first = NewParameter(1f, 2f);
        var second = NewParameter(3f, 4f);
        using var optimizer = optim.SGD(
            [new SGD.ParamGroup([first], lr: 0.1), new SGD.ParamGroup([second], lr: 0.01)],
            learningRate: 0.1);
        var gradient = Gradient(1f, -2f);

        // Act
        OptimizerHyperparameters.SetLearningRate(optimizer, 0.25);
        optimizer.zero_grad();
        ((first * gradient).sum() + (second * gradient).sum()).backward();
        optimizer.step();

        // Assert: plain SGD moves each parameter by exactly lr·grad.
        Assert.Equal([0.25, 0.25], OptimizerHyperparameters.GetLearningRates(optimizer));
        TorchAssert.Close(tensor(new[] { 0.75f, 2.5f }), first);
        TorchAssert.Close(tensor(new[] { 2.75f, 4.5f }), second);
    }

    [Fact]
    public void MultiplyLearningRate_Half_HalvesEveryGroupAndKeepsTheirRatio()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var first = NewParameter(1f);
        var second = NewParameter(1f);
        using var optimizer = optim.AdamW(
            [new AdamW.ParamGroup([first], lr: 0.1), new AdamW.ParamGroup([second], lr: 0.02)]);

        // Act
        OptimizerHyperparameters.MultiplyLearningRate(optimizer, 0.5);

        // Assert
        var rates = OptimizerHyperparameters.GetLearningRates(optimizer);
        Assert.Equal(0.05, rates[0], 12);
        Assert.Equal(0.01, rates[1], 12);
    }

    [Fact]
    public void MultiplyLearningRate_Sgd_StepMovesParameterByTheScaledRate()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var parameter = NewParameter(1f, 1f);
        using var optimizer = optim.SGD([parameter], learningRate: 0.4);

        // Act
        OptimizerHyperparameters.MultiplyLearningRate(optimizer, 0.5);
        Step(optimizer, parameter, Gradient(1f, -1f));

        // Assert
        TorchAssert.Close(tensor(new[] { 0.8f, 1.2f }), parameter);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void SetLearningRate_InvalidValue_ThrowsAndKeepsTheRate(double learningRate)
    {
        // Arrange
        using var scope = NewDisposeScope();
        using var optimizer = optim.AdamW([NewParameter(1f)], lr: 0.001);

        // Act
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerHyperparameters.SetLearningRate(optimizer, learningRate));

        // Assert
        Assert.Contains("learning rate", error.Message, StringComparison.Ordinal);
        Assert.Equal([0.001], OptimizerHyperparameters.GetLearningRates(optimizer));
    }

    [Theory]
    [InlineData("AdamW")]
    [InlineData("SGD")]
    public void SetWeightDecay_ZeroGradient_ParametersDecayByLrTimesWdPerStep(string kind)
    {
        // Arrange: with a zero gradient, AdamW's decoupled decay (p ← p − lr·wd·p) and SGD's coupled one
        // (g ← g + wd·p, p ← p − lr·g) both scale p by 1 − lr·wd each step.
        using var scope = NewDisposeScope();
        const double Lr = 0.1;
        const double Wd = 0.5;
        var parameter = NewParameter(2f, -4f, 8f);
        using OptimizerHelper optimizer = kind == "SGD"
            ? optim.SGD([parameter], learningRate: Lr)
            : optim.AdamW([parameter], lr: Lr);
        var start = parameter.detach().clone();

        // Act
        OptimizerHyperparameters.SetWeightDecay(optimizer, Wd);
        Step(optimizer, parameter, Gradient(0f, 0f, 0f));
        Step(optimizer, parameter, Gradient(0f, 0f, 0f));

        // Assert
        Assert.Equal([Wd], OptimizerHyperparameters.GetWeightDecays(optimizer));
        TorchAssert.Close(start * Math.Pow(1 - (Lr * Wd), 2), parameter);
    }

    [Fact]
    public void SetWeightDecay_FromDecayToZero_ZeroGradientLeavesParametersAlone()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var parameter = NewParameter(2f, -4f);
        using var optimizer = optim.AdamW([parameter], lr: 0.1, weight_decay: 0.3);
        var before = TorchAssert.Snapshot([parameter]);

        // Act
        OptimizerHyperparameters.SetWeightDecay(optimizer, 0);
        Step(optimizer, parameter, Gradient(0f, 0f));

        // Assert
        TorchAssert.BitEqual(before, [parameter]);
    }

    [Theory]
    [InlineData("AdamW", true, false, true)]
    [InlineData("Adam", true, false, true)]
    [InlineData("SGD", true, true, false)]
    [InlineData("RMSProp", true, true, false)]
    [InlineData("Rprop", false, false, false)]
    public void HasMethods_OptimizerKind_ReportWhatItHas(string kind, bool weightDecay, bool momentum, bool betas)
    {
        // Arrange
        using var scope = NewDisposeScope();
        using var optimizer = Create(kind, [NewParameter(1f)], lr: 0.01, weightDecay: 0);

        // Act & Assert
        Assert.Equal(weightDecay, OptimizerHyperparameters.HasWeightDecay(optimizer));
        Assert.Equal(momentum, OptimizerHyperparameters.HasMomentum(optimizer));
        Assert.Equal(betas, OptimizerHyperparameters.HasBetas(optimizer));
    }

    [Fact]
    public void SetMomentum_AdamW_ThrowsNotSupportedNamingTheOptimizer()
    {
        using var scope = NewDisposeScope();
        using var optimizer = optim.AdamW([NewParameter(1f)]);

        var error = Assert.Throws<NotSupportedException>(() => OptimizerHyperparameters.SetMomentum(optimizer, 0.9));

        Assert.Contains("AdamW", error.Message, StringComparison.Ordinal);
        Assert.Contains("momentum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetBetas_Sgd_ThrowsNotSupported()
    {
        using var scope = NewDisposeScope();
        using var optimizer = optim.SGD([NewParameter(1f)], learningRate: 0.1);

        Assert.Throws<NotSupportedException>(() => OptimizerHyperparameters.SetBetas(optimizer, 0.9, 0.99));
    }

    [Fact]
    public void SetWeightDecay_Rprop_ThrowsNotSupported()
    {
        using var scope = NewDisposeScope();
        using var optimizer = optim.Rprop([NewParameter(1f)]);

        Assert.Throws<NotSupportedException>(() => OptimizerHyperparameters.SetWeightDecay(optimizer, 0.1));
    }

    [Fact]
    public void SetMomentum_SgdFromZero_SecondStepUsesTheMomentumBuffer()
    {
        // Arrange: constant gradient g and lr 1. Step 1 moves by g; step 2 by momentum·g + g.
        using var scope = NewDisposeScope();
        var parameter = NewParameter(10f, 10f);
        using var optimizer = optim.SGD([parameter], learningRate: 1, momentum: 0);
        var gradient = Gradient(1f, 2f);

        // Act
        OptimizerHyperparameters.SetMomentum(optimizer, 0.5);
        Step(optimizer, parameter, gradient);
        Step(optimizer, parameter, gradient);

        // Assert: 10 − g − 1.5·g
        Assert.Equal([0.5], OptimizerHyperparameters.GetMomenta(optimizer));
        TorchAssert.Close(tensor(new[] { 7.5f, 5f }), parameter);
    }

    [Fact]
    public void SetMomentum_ZeroOnNesterovSgd_ThrowsAndKeepsTheMomentum()
    {
        using var scope = NewDisposeScope();
        using var optimizer = optim.SGD([NewParameter(1f)], learningRate: 0.1, momentum: 0.9, nesterov: true);

        Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerHyperparameters.SetMomentum(optimizer, 0));

        Assert.Equal([0.9], OptimizerHyperparameters.GetMomenta(optimizer));
    }

    [Fact]
    public void SetBetas_AdamW_StepsExactlyLikeAnOptimizerBuiltWithThoseBetas()
    {
        // Arrange: Adam's update with a changing gradient depends on the betas from the second step on.
        using var scope = NewDisposeScope();
        var changed = NewParameter(1f, -1f, 0.5f);
        var reference = NewParameter(1f, -1f, 0.5f);
        var untouched = NewParameter(1f, -1f, 0.5f);
        using var changedOptimizer = optim.AdamW([changed], lr: 0.1);
        using var referenceOptimizer = optim.AdamW([reference], lr: 0.1, beta1: 0.5, beta2: 0.6);
        using var untouchedOptimizer = optim.AdamW([untouched], lr: 0.1);

        // Act
        OptimizerHyperparameters.SetBetas(changedOptimizer, 0.5, 0.6);
        foreach (var gradient in new[] { Gradient(1f, 2f, 3f), Gradient(-3f, 0.5f, 1f), Gradient(2f, -1f, 0.1f) })
        {
            Step(changedOptimizer, changed, gradient);
            Step(referenceOptimizer, reference, gradient);
            Step(untouchedOptimizer, untouched, gradient);
        }

        // Assert
        Assert.Equal([(0.5, 0.6)], OptimizerHyperparameters.GetBetas(changedOptimizer));
        TorchAssert.BitEqual(TorchAssert.Snapshot([reference]), [changed]);
        Assert.NotEqual(TorchAssert.Bytes(untouched), TorchAssert.Bytes(changed));
    }

    [Theory]
    [InlineData(1.0, 0.999)]
    [InlineData(0.9, -0.1)]
    [InlineData(double.NaN, 0.999)]
    public void SetBetas_OutOfRange_ThrowsAndChangesNeither(double beta1, double beta2)
    {
        using var scope = NewDisposeScope();
        using var optimizer = optim.Adam([NewParameter(1f)], beta1: 0.8, beta2: 0.9);

        Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerHyperparameters.SetBetas(optimizer, beta1, beta2));

        Assert.Equal([(0.8, 0.9)], OptimizerHyperparameters.GetBetas(optimizer));
    }

    private static Parameter NewParameter(params float[] values) => new(tensor(values));

    private static Tensor Gradient(params float[] values) => tensor(values);

    // Makes the parameter's gradient exactly `gradient` (as d/dp of sum(p·g)), then steps.
    private static void Step(OptimizerHelper optimizer, Parameter parameter, Tensor gradient)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        (parameter * gradient).sum().backward();
        optimizer.step();
    }

    private static OptimizerHelper Create(string kind, Parameter[] parameters, double lr, double weightDecay) => kind switch
    {
        "AdamW" => optim.AdamW(parameters, lr: lr, weight_decay: weightDecay),
        "Adam" => optim.Adam(parameters, lr: lr, weight_decay: weightDecay),
        "SGD" => optim.SGD(parameters, learningRate: lr, momentum: 0.9, weight_decay: weightDecay),
        "RMSProp" => optim.RMSProp(parameters, lr: lr, momentum: 0.9, weight_decay: weightDecay),
        "Rprop" => optim.Rprop(parameters, lr: lr),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer kind."),
    };
}
