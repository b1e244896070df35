using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

public sealed class CliGrammarTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Theory]
    [InlineData("status", null)]
    [InlineData("status", "--follow")]
    [InlineData("history", null)]
    [InlineData("controls", null)]
    public void Run_NoQueueDirectory_EveryReportSaysTheSameSentence(string word, string? option)
    {
        var result = InProcess.Run(option is null ? ["-q", _q.Dir, word] : ["-q", _q.Dir, word, option]);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("runtimectl: " + CliGrammar.NoQueueDirectory(_q.Dir) + "\n", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("-q/RUNTIMECTL_QUEUE", CliGrammar.NoQueueDirectory(_q.Dir), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.5", "0.5")]
    [InlineData("-0.5", "-0.5")]
    [InlineData("-1", "-1")]
    [InlineData("1e-3", "1e-3")]
    [InlineData("\"0.5\"", "\"0.5\"")]
    [InlineData("[1,2]", "[1,2]")]
    [InlineData("null", "null")]
    [InlineData("true", "true")]
    [InlineData("{\"a\":1}", "{\"a\":1}")]
    [InlineData("manual", "\"manual\"")]
    [InlineData("NaN", "\"NaN\"")]
    [InlineData("[1,", "\"[1,\"")]
    [InlineData("-", "\"-\"")]
    [InlineData("@file", "\"@file\"")]
    [InlineData("[x]", "\"[x]\"")]
    [InlineData("grüße", "\"grüße\"")]
    public void Run_Argument_BecomesTheJsonValueItParsesAsElseAString(string word, string expectedJson)
    {
        var result = InProcess.Run("-q", _q.Dir, "some.control", word);

        Assert.Equal(0, result.ExitCode);
        var args = result.Json.GetProperty("args");
        Assert.Equal(expectedJson, args[0].GetRawText());
        Assert.Equal(result.StdoutLines[0], Assert.Single(_q.CommandLines()));
    }

    [Fact]
    public void Run_SeveralArguments_KeepTheirOrderAndTypes()
    {
        var result = InProcess.Run("-q", _q.Dir, "p", "-0.5", "\"0.5\"", "[1,2]", "null", "manual", "-1");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("""[-0.5,"0.5",[1,2],null,"manual",-1]""", result.Json.GetProperty("args").GetRawText());
    }

    [Theory]
    [InlineData("-q", "DIR", "optimizer.lr.multiplier", "0.5")]
    [InlineData("optimizer.lr.multiplier", "0.5", "-q", "DIR")]
    [InlineData("optimizer.lr.multiplier", "--queue", "DIR", "0.5")]
    [InlineData("--queue=DIR", "optimizer.lr.multiplier", "0.5")]
    public void Run_QueueOptionBeforeOrAfterWords_SendsTheSameCommand(params string[] args)
    {
        var result = InProcess.Run(args.Select(a => a.Replace("DIR", _q.Dir, StringComparison.Ordinal)).ToArray());

        Assert.Equal(0, result.ExitCode);
        var command = Assert.Single(_q.CommandObjects());
        Assert.Equal("optimizer.lr.multiplier", command.GetProperty("path").GetString());
        Assert.Equal(0.5, command.GetProperty("args")[0].GetDouble());
    }

    [Fact]
    public void Run_KwargsAfterArguments_AreKeywordArguments()
    {
        var result = InProcess.Run("save_ckpt", "--kwargs", """{"label":"manual"}""", "-q", _q.Dir);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("""{"label":"manual"}""", result.Json.GetProperty("kwargs").GetRawText());
        Assert.Equal(0, result.Json.GetProperty("args").GetArrayLength());
    }

    [Fact]
    public void Run_NoQueueOption_UsesTheEnvironmentVariable()
    {
        var result = InProcess.Run(["model.dropout.p", "0.2"], new Dictionary<string, string?> { ["RUNTIMECTL_QUEUE"] = _q.Dir });

        Assert.Equal(0, result.ExitCode);
        Assert.Single(_q.CommandLines());
    }

    [Fact]
    public void Run_QueueOptionAndEnvironmentVariable_OptionWins()
    {
        using var other = new TempQueueDirectory();

        var result = InProcess.Run(["-q", _q.Dir, "model.dropout.p", "0.2"], new Dictionary<string, string?> { ["RUNTIMECTL_QUEUE"] = other.Dir });

        Assert.Equal(0, result.ExitCode);
        Assert.Single(_q.CommandLines());
        Assert.False(Directory.Exists(other.Dir));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Run_NoQueueAnywhere_IsAUsageError(string? variable)
    {
        var result = InProcess.Run(["model.dropout.p", "0.2"], new Dictionary<string, string?> { ["RUNTIMECTL_QUEUE"] = variable });

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("RUNTIMECTL_QUEUE", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_NoWords_IsAUsageError()
    {
        var result = InProcess.Run("-q", _q.Dir);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("PATH", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--kwarg")]
    [InlineData("--wiat")]
    [InlineData("-x")]
    public void Run_UnknownOption_IsAUsageErrorAndNothingIsQueued(string option)
    {
        var result = InProcess.Run("-q", _q.Dir, "save_ckpt", option, "{}");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains(option, result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [Fact]
    public void Run_OptionLikeValueAfterDoubleDash_IsAValue()
    {
        var result = InProcess.Run("-q", _q.Dir, "p", "--", "--force", "-x");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("""["--force","-x"]""", result.Json.GetProperty("args").GetRawText());
    }

    [Theory]
    [InlineData("""{"label":"x"}""", """{"label":"x"}""")]
    [InlineData("null", "{}")]
    [InlineData("{}", "{}")]
    [InlineData("""{"b":1,"a":[true,null]}""", """{"b":1,"a":[true,null]}""")]
    public void Run_KwargsObjectOrNull_IsWrittenAsAnObject(string kwargs, string expected)
    {
        var result = InProcess.Run("-q", _q.Dir, "save_ckpt", "--kwargs", kwargs);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(expected, result.Json.GetProperty("kwargs").GetRawText());
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"label\"")]
    [InlineData("3")]
    [InlineData("true")]
    [InlineData("{label:x}")]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("")]
    public void Run_KwargsNotAnObject_IsAUsageErrorAndNothingIsQueued(string kwargs)
    {
        var result = InProcess.Run("-q", _q.Dir, "save_ckpt", "--kwargs", kwargs);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("--kwargs must be a JSON object", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [Fact]
    public void Run_AtStep_WritesTheAtStepExtensionLast()
    {
        var result = InProcess.Run("-q", _q.Dir, "model.dropout.p", "0.3", "--at-step", "1200");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["id", "ts", "op", "path", "args", "kwargs", "at_step"], TempQueueDirectory.Keys(result.Json));
        Assert.Equal(1200, result.Json.GetProperty("at_step").GetInt64());
    }

    [Theory]
    [InlineData("--at-step", "-1")]
    [InlineData("--at-step", "1.5")]
    [InlineData("--at-step", "x")]
    [InlineData("--timeout", "5")]
    [InlineData("--last", "3")]
    [InlineData("--json", null)]
    public void Run_BadOrMisplacedSendOption_IsAUsageError(string option, string? value)
    {
        string[] args = value is null ? ["-q", _q.Dir, "p", "1", option] : ["-q", _q.Dir, "p", "1", option, value];

        var result = InProcess.Run(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains(option, result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("x")]
    [InlineData("NaN")]
    public void Run_BadTimeout_IsAUsageError(string timeout)
    {
        var result = InProcess.Run("-q", _q.Dir, "p", "--wait", "--timeout", timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--timeout", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_q.Commands));
    }

    [Theory]
    [InlineData("--kwargs", "{}")]
    [InlineData("--wait", null)]
    [InlineData("--at-step", "3")]
    [InlineData("--force", null)]
    public void Run_SendOptionOnStatus_IsAUsageError(string option, string? value)
    {
        string[] args = value is null ? ["-q", _q.Dir, "status", option] : ["-q", _q.Dir, "status", option, value];

        var result = InProcess.Run(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(option, result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Run_Help_PrintsUsageOnStdoutAndExitsZero(string option)
    {
        var result = InProcess.Run(option);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("runtimectl -q DIR status", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("--kwargs", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stderr);
    }

    [Fact]
    public void Run_UsageError_WritesOnlyStderr()
    {
        var result = InProcess.Run("-q", _q.Dir, "status", "--last", "-1");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.StartsWith("runtimectl: ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_EmptyPath_IsAUsageError()
    {
        var result = InProcess.Run("-q", _q.Dir, "", "1");

        Assert.Equal(2, result.ExitCode);
        Assert.False(File.Exists(_q.Commands));
    }

    [Fact]
    public void Run_Send_PrintsOneCompactJsonLineOnly()
    {
        var result = InProcess.Run("-q", _q.Dir, "optimizer.lr.multiplier", "0.5");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Stderr);
        Assert.EndsWith("\n", result.Stdout, StringComparison.Ordinal);
        Assert.Single(result.StdoutLines);
        Assert.DoesNotContain(": ", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, result.Json.ValueKind);
    }
}
