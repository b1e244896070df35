using System.Reflection;
using System.Runtime.InteropServices;

namespace RuntimeCtl.Testing;

/// <summary>
/// Where the programs the tests start are: the paths each test project records at build time (the
/// <c>RecordedPath</c> items of tests/Directory.Build.targets), copies beside the test assembly, and the
/// <c>dotnet</c> host that runs the tests.
/// </summary>
public static class TestPaths
{
    /// <summary>Gets the built <c>runtimectl</c> command (RuntimeCtl.Cli.dll).</summary>
    public static string Cli => Recorded("CliAssemblyPath");

    /// <summary>Gets the built QuickStart sample.</summary>
    public static string QuickStart => Recorded("QuickStartAssemblyPath");

    /// <summary>Gets the built TorchSharpTraining sample.</summary>
    public static string TorchSharpTraining => Recorded("TorchSharpTrainingAssemblyPath");

    /// <summary>Gets the built sender program of the kill/restart tests (RuntimeCtl.Tests.Sender.dll).</summary>
    public static string Sender => Recorded("SenderAssemblyPath");

    /// <summary>Gets the <c>dotnet</c> host that runs this test, to run the other assemblies with.</summary>
    public static string DotnetHost
    {
        get
        {
            // Set by the SDK's test command; the running host itself when run by it; else the runtime's own root.
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
            {
                return host;
            }

            if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                return self;
            }

            // <root>/shared/Microsoft.NETCore.App/<version>/ -> <root>/dotnet
            var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
            var beside = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            return File.Exists(beside) ? beside : "dotnet";
        }
    }

    /// <summary>Gets a path the test project recorded under <paramref name="key"/>; fails the test when it does not exist.</summary>
    public static string Recorded(string key)
    {
        var path = typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value;
        Assert.True(path is not null, $"The test assembly records no '{key}'; add a RecordedPath item with Key=\"{key}\" to the test project.");
        Assert.True(File.Exists(path) || Directory.Exists(path), $"{key} '{path}' does not exist; build the test project first.");
        return path;
    }

    /// <summary>Gets <paramref name="file"/> in <paramref name="folder"/> beside the test assembly, where the build copied it.</summary>
    public static string BesideTests(string folder, string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, folder, file);
        Assert.True(File.Exists(path), $"{file} is missing at {path}; build the test project (it copies the program there).");
        return path;
    }
}
