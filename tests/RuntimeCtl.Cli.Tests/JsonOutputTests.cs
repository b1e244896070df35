namespace RuntimeCtl.Cli.Tests;

public sealed class JsonOutputTests
{
    [Theory]
    [InlineData(0.05, "0.05 s")]
    [InlineData(0.8, "0.8 s")]
    [InlineData(4.25, "4.3 s")]
    [InlineData(42, "42 s")]
    [InlineData(600, "10 min")]
    [InlineData(3 * 3600, "3.0 h")]
    [InlineData(3 * 86400, "3.0 d")]
    public void Duration_Seconds_ReadsNaturally(double seconds, string text)
    {
        Assert.Equal(text, TrainerReport.Duration(seconds));
    }

    [Fact]
    public void DescribeTrainer_NoController_SaysWhyItIsUnknown()
    {
        Assert.StartsWith("unknown: no controller.json", TrainerReport.Describe(null, DateTimeOffset.UtcNow), StringComparison.Ordinal);
    }
}
