namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>The files of the libLibTorchSharp.so build step: the step itself, the package's library and the output's copy.</summary>
internal static class LibTorchSharpPaths
{
    /// <summary>Gets the RuntimeCtl.TorchSharp.targets file in the source tree.</summary>
    public static string PatchTargets => TestPaths.Recorded("PatchTargetsPath");

    /// <summary>Gets libLibTorchSharp.so as shipped in the TorchSharp package (never modified by the build).</summary>
    public static string Pristine => TestPaths.Recorded("PristineLibTorchSharpPath");

    /// <summary>Gets the libLibTorchSharp.so copied next to these tests, which the build step may have patched.</summary>
    public static string Output => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
}
