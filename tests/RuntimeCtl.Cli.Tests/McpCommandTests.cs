using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

/// <summary><c>runtimectl mcp</c>: its grammar, and how it finds the server next to itself.</summary>
public sealed class McpCommandTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    [Fact]
    public void Bind_McpWithPatterns_IsAnMcpRequestWithThemInOrder()
    {
        var grammar = new CliGrammar();

        var request = grammar.Bind(grammar.Parse(["-q", _q.Dir, "mcp", "--allow", "optimizer.*", "--allow", "train.stop"]), _ => null);

        var mcp = Assert.IsType<McpRequest>(request);
        Assert.Equal(["optimizer.*", "train.stop"], mcp.Allow);
        Assert.Equal(_q.Dir, mcp.QueueDirectory);
    }

    [Theory]
    [InlineData(new[] { "mcp", "--json" }, "--json does not apply to mcp")]
    [InlineData(new[] { "mcp", "--wait" }, "--wait does not apply to mcp")]
    [InlineData(new[] { "status", "--allow", "x" }, "--allow does not apply to status")]
    [InlineData(new[] { "optimizer.lr", "0.1", "--allow", "x" }, "--allow does not apply to sending a command")]
    public void Run_OptionNotForIt_IsAUsageError(string[] args, string message)
    {
        var result = InProcess.Run(["-q", _q.Dir, .. args]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_McpWithUrl_IsAUsageError()
    {
        var result = InProcess.Run("--url", "http://127.0.0.1:1/?token=t", "mcp");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--url does not apply to mcp", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_McpAfterDoubleDash_IsAControlsPath()
    {
        var result = InProcess.Run("-q", _q.Dir, "--", "mcp");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("mcp", result.Json.GetProperty("path").GetString());
    }

    [Fact]
    public void StartInfo_NoServerInTheDirectory_IsNull()
    {
        Directory.CreateDirectory(_q.Dir);

        Assert.Null(McpCommand.StartInfo(_q.Dir));
    }

    [Fact]
    public void StartInfo_NativeServer_RunsItDirectly()
    {
        Directory.CreateDirectory(_q.Dir);
        File.WriteAllText(Path.Combine(_q.Dir, McpCommand.AssemblyName), string.Empty);
        File.WriteAllText(Path.Combine(_q.Dir, McpCommand.ExecutableName), string.Empty);

        var start = McpCommand.StartInfo(_q.Dir);

        Assert.Equal(Path.Combine(_q.Dir, McpCommand.ExecutableName), start!.FileName);
        Assert.Empty(start.ArgumentList);
    }

    [Fact]
    public void StartInfo_AssemblyOnly_RunsItWithTheClisRuntimeConfiguration()
    {
        Directory.CreateDirectory(_q.Dir);
        foreach (var file in (string[])[McpCommand.AssemblyName, "RuntimeCtl.Cli.runtimeconfig.json", "RuntimeCtl.Cli.deps.json"])
        {
            File.WriteAllText(Path.Combine(_q.Dir, file), string.Empty);
        }

        var start = McpCommand.StartInfo(_q.Dir);

        Assert.Equal("dotnet", Path.GetFileName(start!.FileName));
        Assert.Equal(
            ["exec", "--runtimeconfig", Path.Combine(_q.Dir, "RuntimeCtl.Cli.runtimeconfig.json"), "--depsfile", Path.Combine(_q.Dir, "RuntimeCtl.Cli.deps.json"), Path.Combine(_q.Dir, McpCommand.AssemblyName)],
            start.ArgumentList);
    }
}
