using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace RuntimeCtl.TorchSharp.Tests.Dropout;

public sealed class DropoutRatesTests
{
    private const int Elements = 200_000;

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    [InlineData(0.7)]
    public void SetAll_Probability_FractionOfZerosInTrainModeIsNearIt(double probability)
    {
        // Arrange: two dropout modules in a row drop 1 − (1 − p)² of the inputs.
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(("first", nn.Dropout(0.1)), ("second", nn.Dropout(0.1)));
        model.train();

        // Act
        var changed = DropoutRates.SetAll(model, probability);
        var zeros = ZeroFraction(model);

        // Assert
        Assert.Equal(2, changed);
        Assert.Equal(1 - Math.Pow(1 - probability, 2), zeros, 0.01);
        Assert.All(DropoutRates.Get(model), d => Assert.Equal(probability, d.Probability));
    }

    [Fact]
    public void Set_ByNestedName_ChangesOnlyThatModule()
    {
        // Arrange
        using var scope = NewDisposeScope();
        var inner = nn.Dropout(0.1);
        var head = nn.Dropout(0.1);
        using var model = nn.Sequential(("block", nn.Sequential(("drop", inner))), ("head", head));
        model.train();

        // Act
        DropoutRates.Set(model, "block.drop", 0.8);

        // Assert: the named module drops about 80%, the other still about 10%.
        Assert.Equal(0.8, ZeroFraction(inner), 0.01);
        Assert.Equal(0.1, ZeroFraction(head), 0.01);
        Assert.Equal([("block.drop", 0.8), ("head", 0.1)], DropoutRates.Get(model).OrderBy(d => d.Name, StringComparer.Ordinal));
    }

    [Fact]
    public void SetAll_EvalMode_OutputIsUnchangedWhatever_p()
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(("drop", nn.Dropout(0.1)));
        model.eval();

        DropoutRates.SetAll(model, 0.9);

        Assert.Equal(0, ZeroFraction(model));
    }

    [Fact]
    public void Set_UnknownName_ThrowsListingTheDropoutNames()
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(("fc", nn.Linear(2, 2)), ("drop", nn.Dropout(0.1)));

        var error = Assert.Throws<ArgumentException>(() => DropoutRates.Set(model, "fc", 0.5));

        Assert.Contains("'fc'", error.Message, StringComparison.Ordinal);
        Assert.Contains("drop", error.Message, StringComparison.Ordinal);
        Assert.Equal(0.1, DropoutRates.Get(model).Single().Probability);
    }

    [Fact]
    public void SetAll_ModelWithoutDropout_Throws()
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(("fc", nn.Linear(2, 2)));

        var error = Assert.Throws<ArgumentException>(() => DropoutRates.SetAll(model, 0.5));

        Assert.Contains("no dropout module", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void SetAll_ProbabilityOutsideZeroToOne_ThrowsAndKeepsIt(double probability)
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(("drop", nn.Dropout(0.1)));

        Assert.Throws<ArgumentOutOfRangeException>(() => DropoutRates.SetAll(model, probability));

        Assert.Equal(0.1, DropoutRates.Get(model).Single().Probability);
    }

    [Fact]
    public void SetAll_OtherDropoutKinds_AreChangedToo()
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(("d2", nn.Dropout2d(0.1)), ("alpha", nn.AlphaDropout(0.1)));

        Assert.Equal(2, DropoutRates.SetAll(model, 0.4));

        Assert.Equal([("d2", 0.4), ("alpha", 0.4)], DropoutRates.Get(model));
    }

    private static double ZeroFraction(Module module)
    {
        using var scope = NewDisposeScope();
        var output = module.forward(ones(Elements));
        return output.eq(0).sum().item<long>() / (double)Elements;
    }
}
