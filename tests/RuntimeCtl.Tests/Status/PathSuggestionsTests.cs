namespace RuntimeCtl.Tests.Status;

public sealed class PathSuggestionsTests
{
    private static readonly string[] Paths = ["optimizer.lr.multiplier", "model.dropout.p", "save_ckpt"];

    [Theory]
    [InlineData("optimizer.lr.multiplir", "optimizer.lr.multiplier")]
    [InlineData("optimiser.lr.multiplier", "optimizer.lr.multiplier")]
    [InlineData("Model.Dropout.P", "model.dropout.p")]
    [InlineData("save_ckp", "save_ckpt")]
    [InlineData("savecheckpoint", null)]
    [InlineData("lr.multiplier", "optimizer.lr.multiplier")]
    [InlineData("dropout", "model.dropout.p")]
    [InlineData("zzz", null)]
    public void Closest_Typo_SuggestsTheRegisteredPath(string typed, string? expected)
    {
        var closest = PathSuggestions.Closest(typed, Paths);

        if (expected is null)
        {
            Assert.Empty(closest);
        }
        else
        {
            Assert.Equal(expected, closest[0]);
        }
    }

    [Theory]
    [InlineData("", "", 0)]
    [InlineData("abc", "", 3)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("save_ckpt", "save_ckpt", 0)]
    public void Distance_KnownPairs_AreLevenshtein(string a, string b, int distance)
    {
        Assert.Equal(distance, PathSuggestions.Distance(a, b));
        Assert.Equal(distance, PathSuggestions.Distance(b, a));
    }
}
