using System.Reflection;

namespace RuntimeCtl.Mcp.Tests.Support;

/// <summary>The built executables, as the test project recorded them at build time.</summary>
public static class Executables
{
    public static string Cli => Metadata("CliAssemblyPath");

    public static string QuickStart => Metadata("QuickStartAssemblyPath");

    public static string TorchSharpTraining => Metadata("TorchSharpTrainingAssemblyPath");

    /// <summary>The <c>dotnet</c> host that runs this test, to run the other assemblies with.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";

    private static string Metadata(string key)
    {
        var path = typeof(Executables).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value;
        Assert.True(path is not null && File.Exists(path), $"{key} '{path}' does not exist; build the test project first.");
        return path!;
    }
}
