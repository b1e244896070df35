using System.Reflection;
using System.Runtime.InteropServices;

namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>Paths recorded by the test project at build time, and the dotnet host that runs these tests.</summary>
internal static class TestPaths
{
    /// <summary>Gets the built TorchSharpTraining.dll.</summary>
    public static string SampleAssembly => Metadata("SampleAssemblyPath");

    /// <summary>Gets the built runtimectl command (RuntimeCtl.Cli.dll).</summary>
    public static string CliAssembly => Metadata("CliAssemblyPath");

    /// <summary>Gets the RuntimeCtl.TorchSharp.targets file in the source tree.</summary>
    public static string PatchTargets => Metadata("PatchTargetsPath");

    /// <summary>Gets libLibTorchSharp.so as shipped in the TorchSharp package (never modified by the build).</summary>
    public static string PristineLibTorchSharp => Metadata("PristineLibTorchSharpPath");

    /// <summary>Gets the libLibTorchSharp.so copied next to these tests, which the build step may have patched.</summary>
    public static string OutputLibTorchSharp =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>Gets the dotnet executable of the runtime running the tests.</summary>
    public static string DotnetHost
    {
        get
        {
            var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
            {
                return fromSdk;
            }

            // <root>/shared/Microsoft.NETCore.App/<version>/ -> <root>/dotnet
            var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
            return Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        }
    }

    private static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test assembly has no '{key}' metadata; it is written by the _RecordTestPaths target of the test project.");
}
