using System.Diagnostics;

namespace RuntimeCtl.Cli.Tests;

/// <summary>
/// How runtimectl hands <c>serve</c> and <c>--url</c> to runtimectl-web: real runtimectl processes run from a copy of
/// the build output, with the sibling missing or replaced by a script that shows what it was given.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SiblingExecutableTests : IDisposable
{
    private const string Url = "http://127.0.0.1:1/?token=t";

    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    public static TheoryData<string[]> ServeCases => new()
    {
        { ["serve"] },
        { ["serve", "--port", "0", "--open"] },
    };

    public static TheoryData<string[]> WebCases => new()
    {
        { ["-q", "DIR", "serve", "--port", "0"] },
        { ["serve", "-q", "DIR", "--host", "127.0.0.1", "--open"] },
        { ["--url", Url, "status", "--json", "--last", "3"] },
        { ["--url", Url, "--token", "other", "optimizer.lr", "--", "-x", "two words", "--wait"] },
        { ["--url", Url, "history", "--status", "applied"] },
    };

    [Theory]
    [MemberData(nameof(ServeCases))]
    public void Run_ServeWithoutTheWebSibling_SaysItIsMissing(string[] args)
    {
        var cli = CopyOfTheCli(sibling: null);

        var result = ChildProcess.RunDotnet(cli, ["-q", _q.Dir, .. args], TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == ExitCodes.Error, result.ToString());
        Assert.Contains("the web part of runtimectl (serve, --url) is missing: neither runtimectl-web nor RuntimeCtl.Web.dll is next to runtimectl", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Reinstall runtimectl", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_UrlWithoutTheWebSibling_SaysItIsMissing()
    {
        var cli = CopyOfTheCli(sibling: null);

        var result = ChildProcess.RunDotnet(cli, ["--url", Url, "status"], TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == ExitCodes.Error, result.ToString());
        Assert.Contains("runtimectl: the web part of runtimectl (serve, --url) is missing", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--url", "ftp://127.0.0.1/?token=t", "status" }, "--url must be")]
    [InlineData(new[] { "--url", Url, "serve" }, "--url does not apply to serve")]
    [InlineData(new[] { "-q", "/tmp/x", "serve", "--wait" }, "--wait does not apply to serve")]
    public void Run_UsageErrorWithoutTheWebSibling_IsReportedByRuntimectlItself(string[] args, string message)
    {
        var cli = CopyOfTheCli(sibling: null);

        var result = ChildProcess.RunDotnet(cli, args, TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("is missing", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(WebCases))]
    public void Run_ServeOrUrl_RunsTheWebSiblingWithTheSameArgumentsAndItsExitCode(string[] args)
    {
        var arguments = args.Select(a => a == "DIR" ? _q.Dir : a).ToArray();
        var cli = CopyOfTheCli(sibling: "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\necho \"stderr from the sibling\" >&2\nexit 7\n");

        var result = ChildProcess.RunDotnet(cli, arguments, TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == 7, result.ToString());
        Assert.Equal(arguments.Select(a => $"[{a}]"), result.StdoutLines);
        Assert.Equal("stderr from the sibling\n", result.Stderr);
    }

    [Fact]
    public void Run_SigtermDuringServe_IsPassedOnToTheWebSibling()
    {
        var cli = CopyOfTheCli(sibling: "#!/bin/sh\ntrap 'echo stopped; exit 3' TERM\necho ready\nwhile :; do sleep 0.05; done\n");
        using var runtimectl = ChildProcess.StartDotnet(cli, ["-q", _q.Dir, "serve"]);
        Eventually.Until(() => runtimectl.Stdout.Contains("ready\n", StringComparison.Ordinal), "sibling's ready line", process: runtimectl);

        using (var kill = Process.Start("kill", ["-TERM", runtimectl.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        var result = runtimectl.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal(["ready", "stopped"], result.StdoutLines);
    }

    [Fact]
    public void Run_ServeAfterDoubleDash_IsAControlsPathSentByRuntimectl()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = Cli.Run(["-q", _q.Dir, "--", "serve"], stdout, stderr, new Dictionary<string, string?>(), web: null);

        Assert.True(exit == ExitCodes.Success, stderr.ToString());
        Assert.Equal("serve", TempQueueDirectory.Parse(stdout.ToString().Trim()).GetProperty("path").GetString());
    }

    [Fact]
    public void StartInfo_WebAssemblyOnly_RunsItWithItsOwnRuntimeConfiguration()
    {
        Directory.CreateDirectory(_q.Dir);
        foreach (var file in (string[])["RuntimeCtl.Web.dll", "RuntimeCtl.Web.runtimeconfig.json", "RuntimeCtl.Web.deps.json", "RuntimeCtl.Cli.runtimeconfig.json", "RuntimeCtl.Cli.deps.json"])
        {
            File.WriteAllText(Path.Combine(_q.Dir, file), string.Empty);
        }

        var start = SiblingExecutable.Web.StartInfo(_q.Dir);

        Assert.Equal("dotnet", Path.GetFileName(start!.FileName));
        Assert.Equal(
            ["exec", "--runtimeconfig", Path.Combine(_q.Dir, "RuntimeCtl.Web.runtimeconfig.json"), "--depsfile", Path.Combine(_q.Dir, "RuntimeCtl.Web.deps.json"), Path.Combine(_q.Dir, "RuntimeCtl.Web.dll")],
            start.ArgumentList);
    }

    [Fact]
    public void StartInfo_NativeWebSibling_RunsItDirectly()
    {
        Directory.CreateDirectory(_q.Dir);
        File.WriteAllText(Path.Combine(_q.Dir, "RuntimeCtl.Web.dll"), string.Empty);
        File.WriteAllText(Path.Combine(_q.Dir, "runtimectl-web"), string.Empty);

        var start = SiblingExecutable.Web.StartInfo(_q.Dir);

        Assert.Equal(Path.Combine(_q.Dir, "runtimectl-web"), start!.FileName);
        Assert.Empty(start.ArgumentList);
    }

    /// <summary>
    /// The CLI's build output copied without its web part, plus <paramref name="sibling"/> as an executable
    /// runtimectl-web script when given; the path of the copied RuntimeCtl.Cli.dll.
    /// </summary>
    private string CopyOfTheCli(string? sibling)
    {
        var folder = Path.Combine(_q.Root, "cli");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(TestPaths.Cli)!))
        {
            var name = Path.GetFileName(file);
            if (!name.StartsWith("RuntimeCtl.Web", StringComparison.Ordinal) && name != "runtimectl-web")
            {
                File.Copy(file, Path.Combine(folder, name));
            }
        }

        if (sibling is not null)
        {
            var script = Path.Combine(folder, "runtimectl-web");
            File.WriteAllText(script, sibling);
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return Path.Combine(folder, Path.GetFileName(TestPaths.Cli));
    }
}
