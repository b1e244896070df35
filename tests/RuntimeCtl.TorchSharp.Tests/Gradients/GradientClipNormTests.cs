using RuntimeCtl.TorchSharp.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Gradients;

public sealed class GradientClipNormTests
{
    [Fact]
    public void Apply_LimitSet_StepMovesParametersByTheClippedGradient()
    {
        // Arrange: gradient (6, 8) has norm 10.
        using var scope = NewDisposeScope();
        var parameter = new Parameter(zeros(2));
        using var optimizer = optim.SGD([parameter], learningRate: 1);
        var clip = new GradientClipNorm { MaxNorm = 1 };
        (parameter * tensor(new[] { 6f, 8f })).sum().backward();

        // Act
        var norm = clip.Apply([parameter]);
        optimizer.step();

        // Assert
        Assert.Equal(10, norm!.Value, 4);
        TorchAssert.Close(tensor(new[] { -0.6f, -0.8f }), parameter, relative: 1e-5);
    }

    [Fact]
    public void Apply_Off_LeavesGradientsUntouchedAndReturnsNull()
    {
        using var scope = NewDisposeScope();
        var parameter = new Parameter(zeros(2));
        var clip = new GradientClipNorm();
        (parameter * tensor(new[] { 6f, 8f })).sum().backward();

        var norm = clip.Apply([parameter]);

        Assert.Null(norm);
        Assert.Null(clip.MaxNorm);
        TorchAssert.Close(tensor(new[] { 6f, 8f }), parameter.grad!);
    }

    [Fact]
    public void MaxNorm_SetToNull_TurnsClippingOff()
    {
        using var scope = NewDisposeScope();
        var parameter = new Parameter(zeros(2));
        var clip = new GradientClipNorm(0.5);
        (parameter * tensor(new[] { 6f, 8f })).sum().backward();

        clip.MaxNorm = null;

        Assert.Null(clip.Apply([parameter]));
        TorchAssert.Close(tensor(new[] { 6f, 8f }), parameter.grad!);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void MaxNorm_NotAFinitePositiveNumber_ThrowsAndKeepsTheLimit(double value)
    {
        var clip = new GradientClipNorm(2);

        Assert.Throws<ArgumentOutOfRangeException>(() => clip.MaxNorm = value);

        Assert.Equal(2, clip.MaxNorm);
    }
}
