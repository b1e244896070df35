using RuntimeCtl.TorchSharp.Tests.Support;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Controls;

/// <summary>
/// The documented rule: a commanded learning rate replaces the current one, and a scheduler that multiplies the
/// current rate (StepLR) continues from it, so the commanded rate is the base its later steps multiply.
/// </summary>
public sealed class LearningRateSchedulerTests
{
    [Fact]
    public void OptimizerLr_BetweenStepLRDecays_LaterDecaysMultiplyTheCommandedRate()
    {
        // Arrange: lr 1.0, halved every 3 scheduler steps; after 4 steps it is 0.5.
        using var steered = new SteeredLoop(m => optim.SGD(m.parameters(), learningRate: 1.0), dropout: false);
        var scheduler = optim.lr_scheduler.StepLR(steered.Optimizer, step_size: 3, gamma: 0.5);
        var rates = new List<double>();
        for (var epoch = 1; epoch <= 4; epoch++)
        {
            scheduler.step();
        }

        Assert.Equal(0.5, Rate(steered));

        // Act: command 0.2 at epoch 4, then keep stepping the scheduler to epoch 9.
        steered.Apply("optimizer.lr", [0.2]);
        for (var epoch = 5; epoch <= 9; epoch++)
        {
            scheduler.step();
            rates.Add(Rate(steered));
        }

        // Assert: 0.2 holds until the next decay (epoch 6), which halves it, and so on.
        Assert.Equal([0.2, 0.1, 0.1, 0.1, 0.05], rates);
    }

    [Fact]
    public void OptimizerLrMultiplier_WithStepLR_DecaysContinueFromTheMultipliedRate()
    {
        // Arrange
        using var steered = new SteeredLoop(m => optim.SGD(m.parameters(), learningRate: 0.8), dropout: false);
        var scheduler = optim.lr_scheduler.StepLR(steered.Optimizer, step_size: 2, gamma: 0.5);
        scheduler.step();

        // Act
        steered.Apply("optimizer.lr.multiplier", [0.25]);
        scheduler.step();

        // Assert: 0.8 · 0.25 = 0.2, then the decay at epoch 2 halves it.
        Assert.Equal(0.1, Rate(steered), 12);
    }

    private static double Rate(SteeredLoop steered) => Assert.Single(OptimizerHyperparameters.GetLearningRates(steered.Optimizer));
}
