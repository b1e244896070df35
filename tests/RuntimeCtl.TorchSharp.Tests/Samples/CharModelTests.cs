using DropoutModule = TorchSharp.Modules.Dropout;
using TorchSharpTraining;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>The sample's model: character codes in, one logit per vocabulary character out.</summary>
public sealed class CharModelTests
{
    [Fact]
    public void Create_Forward_ReturnsOneLogitPerCharacterForEachWindow()
    {
        using var model = CharModel.Create(vocabulary: 50, context: 12, embedding: 6, hidden: 20, dropout: 0.1);
        using var inputs = randint(0, 50, [7, 12], dtype: ScalarType.Int64);

        using var logits = model.forward(inputs);

        Assert.Equal(new long[] { 7, 50 }, logits.shape);
        Assert.Equal(ScalarType.Float32, logits.dtype);
    }

    [Fact]
    public void Create_Modules_NameTheTwoDropoutsForTheDropoutControl()
    {
        using var model = CharModel.Create(vocabulary: 10, context: 4, embedding: 3, hidden: 8, dropout: 0.25);

        var dropouts = model.named_modules().Where(m => m.module is DropoutModule).ToList();

        Assert.Equal(["drop1", "drop2"], dropouts.Select(m => m.name));
        Assert.All(dropouts, m => Assert.Equal(0.25, ((DropoutModule)m.module).p));
    }

    [Fact]
    public void Create_Parameters_ShapedByVocabularyContextAndWidth()
    {
        using var model = CharModel.Create(vocabulary: 10, context: 4, embedding: 3, hidden: 8, dropout: 0);

        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);

        Assert.Equal(new long[] { 10, 3 }, shapes["embed.weight"]);
        Assert.Equal(new long[] { 8, 12 }, shapes["fc1.weight"]);
        Assert.Equal(new long[] { 8, 8 }, shapes["fc2.weight"]);
        Assert.Equal(new long[] { 10, 8 }, shapes["out.weight"]);
    }
}
