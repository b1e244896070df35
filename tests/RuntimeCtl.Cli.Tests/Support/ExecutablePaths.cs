using System.Reflection;

namespace RuntimeCtl.Cli.Tests.Support;

/// <summary>The built executables, as the test project recorded them at build time.</summary>
public static class ExecutablePaths
{
    public static string Cli => Metadata("CliAssemblyPath");

    public static string QuickStart => Metadata("QuickStartAssemblyPath");

    /// <summary>The CLI's project file, for the tests that pack it.</summary>
    public static string CliProject => Metadata("CliProjectPath");

    /// <summary>The <c>dotnet</c> host that runs this test, to run the other assemblies with.</summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
            {
                return host;
            }

            return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    private static string Metadata(string key)
    {
        var path = typeof(ExecutablePaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value;
        Assert.True(path is not null && File.Exists(path), $"{key} '{path}' does not exist; build the test project first.");
        return path!;
    }
}
