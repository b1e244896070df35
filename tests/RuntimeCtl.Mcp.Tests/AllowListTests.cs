namespace RuntimeCtl.Mcp.Tests;

public sealed class AllowListTests
{
    [Theory]
    [InlineData("optimizer.*", "optimizer.lr", true)]
    [InlineData("optimizer.*", "optimizer.lr.multiplier", true)]
    [InlineData("optimizer.*", "optimizer", false)]
    [InlineData("optimizer.*", "model.optimizer.lr", false)]
    [InlineData("*", "train.stop", true)]
    [InlineData("*.p", "model.dropout.p", true)]
    [InlineData("*.p", "model.dropout.pp", false)]
    [InlineData("a*b*c", "aXbYc", true)]
    [InlineData("a*b*c", "aXbY", false)]
    [InlineData("train.stop", "train.stop", true)]
    [InlineData("train.stop", "Train.stop", false)]
    [InlineData("train.stop", "train.stopper", false)]
    public void Matches_Glob_IsLiteralButForStars(string pattern, string path, bool expected) =>
        Assert.Equal(expected, AllowList.Matches(pattern, path));

    [Fact]
    public void Allows_NoPatterns_AllButTheDestructiveControls()
    {
        var allow = new AllowList([]);

        Assert.True(allow.Allows("optimizer.lr"));
        Assert.True(allow.Allows("train.pause"));
        Assert.False(allow.Allows("train.stop"));
        Assert.False(allow.Allows("load_ckpt"));
    }

    [Fact]
    public void Allows_Patterns_OnlyWhatTheyMatchDestructiveIncluded()
    {
        var allow = new AllowList(["optimizer.*", "load_ckpt"]);

        Assert.True(allow.Allows("optimizer.lr"));
        Assert.True(allow.Allows("load_ckpt"));
        Assert.False(allow.Allows("train.stop"));
        Assert.False(allow.Allows("model.dropout.p"));
    }
}

public sealed class ServerArgumentsTests
{
    private static string? NoVariable(string name) => null;

    [Fact]
    public void Parse_QueueAndPatterns_InOrder()
    {
        var parsed = ServerArguments.Parse(["-q", "/tmp/job", "--allow", "optimizer.*", "--allow", "train.stop", "--allow-shared"], NoVariable);

        Assert.Equal("/tmp/job", parsed!.QueueDirectory);
        Assert.Equal(["optimizer.*", "train.stop"], parsed.Allow);
        Assert.True(parsed.AllowShared);
    }

    [Fact]
    public void Parse_NoQueue_UsesTheVariable() =>
        Assert.Equal("/tmp/from-env", ServerArguments.Parse([], name => name == "RUNTIMECTL_QUEUE" ? "/tmp/from-env" : null)!.QueueDirectory);

    [Fact]
    public void Parse_Help_IsNull() => Assert.Null(ServerArguments.Parse(["--help"], NoVariable));

    [Theory]
    [InlineData(new[] { "--allow", "optimizer.*" }, "no queue directory")]
    [InlineData(new[] { "-q" }, "-q needs a value")]
    [InlineData(new[] { "-q", "/tmp/x", "--allow" }, "--allow needs a value")]
    [InlineData(new[] { "-q", "/tmp/x", "--allow", "a b" }, "--allow needs a control's path or a pattern")]
    [InlineData(new[] { "-q", "/tmp/x", "--port", "1" }, "unknown argument '--port'")]
    public void Parse_Wrong_SaysWhy(string[] args, string message)
    {
        var error = Assert.Throws<FormatException>(() => ServerArguments.Parse(args, NoVariable));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
