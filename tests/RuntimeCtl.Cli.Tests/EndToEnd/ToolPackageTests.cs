using System.IO.Compression;

namespace RuntimeCtl.Cli.Tests.EndToEnd;

/// <summary>The <c>dotnet tool</c> package, packed for real: what it carries next to runtimectl.</summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _output = Path.Combine(Path.GetTempPath(), "rtc-pack-tests", Guid.NewGuid().ToString("N")[..12]);

    private string Artifacts => Path.Combine(_output, "artifacts") + "/";

    public void Dispose()
    {
        try
        {
            Directory.Delete(_output, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Fact]
    public void Pack_AfterANativePublish_CarriesTheMcpServerAssemblyAndNoNativeBinary()
    {
        // What 'dotnet publish src/RuntimeCtl.Cli -c Release' leaves in its folder: native binaries for this machine only.
        // (In an artifacts folder of the test's own, so the repository's build output is left alone.)
        var publishDir = Property("PublishDir");
        Assert.StartsWith(Artifacts, publishDir, StringComparison.Ordinal);
        Directory.CreateDirectory(publishDir);
        File.WriteAllText(Path.Combine(publishDir, "runtimectl-mcp"), "planted: a native binary of the publish");
        File.WriteAllText(Path.Combine(publishDir, "RuntimeCtl.Cli.dbg"), "planted");

        var pack = Dotnet(["pack", TestPaths.Recorded("CliProjectPath"), "-c", "Release", "-o", _output, "-v", "q", "-nologo", "-p:ArtifactsPath=" + Artifacts]);

        Assert.True(pack.ExitCode == 0, pack.Output);
        using var package = ZipFile.OpenRead(Directory.GetFiles(_output, "RuntimeCtl.Cli.*.nupkg", SearchOption.TopDirectoryOnly).Single());
        var files = package.Entries.Select(e => e.FullName).ToArray();
        Assert.Contains("tools/net10.0/any/RuntimeCtl.Cli.dll", files);
        Assert.Contains("tools/net10.0/any/RuntimeCtl.Mcp.dll", files);
        Assert.Contains("tools/net10.0/any/ModelContextProtocol.Core.dll", files);
        Assert.Contains("tools/net10.0/any/RuntimeCtl.Cli.runtimeconfig.json", files);
        Assert.DoesNotContain(files, f => f.EndsWith("/runtimectl-mcp", StringComparison.Ordinal) || f.EndsWith(".dbg", StringComparison.Ordinal));
    }

    private string Property(string name)
    {
        var result = Dotnet(["msbuild", TestPaths.Recorded("CliProjectPath"), "-p:Configuration=Release", "-p:ArtifactsPath=" + Artifacts, "-getProperty:" + name, "-nologo"]);
        Assert.True(result.ExitCode == 0, result.Output);
        return result.Output.Trim();
    }

    private static ProcessResult Dotnet(string[] arguments)
    {
        // A build inside the test run: none of the test host's MSBuild settings leak into it.
        var cleared = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(k => k, _ => (string?)null);
        return ChildProcess.Run(TestPaths.DotnetHost, arguments, TimeSpan.FromMinutes(5), cleared);
    }
}
