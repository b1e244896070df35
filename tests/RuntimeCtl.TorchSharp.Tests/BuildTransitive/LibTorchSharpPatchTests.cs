using System.Text;
using RuntimeCtl.TorchSharp.Tests.Support;

namespace RuntimeCtl.TorchSharp.Tests.BuildTransitive;

/// <summary>
/// Runs the real RuntimeCtl.TorchSharp.targets in a real MSBuild process against a pristine copy of TorchSharp's
/// libLibTorchSharp.so, with a fake "system libstdc++" that does or does not provide GLIBCXX_3.4.32.
/// </summary>
public sealed class LibTorchSharpPatchTests : IDisposable
{
    private const string Version = "GLIBCXX_3.4.32";
    private const string PatchedMessage = "RuntimeCtl: marked the GLIBCXX_3.4.32 requirement";
    private static readonly TimeSpan MsBuildTimeout = TimeSpan.FromMinutes(2);

    private readonly TempDirectory _temp = new();
    private readonly string _library;
    private readonly string _project;

    public LibTorchSharpPatchTests()
    {
        // The layout a framework-dependent build produces: <OutDir>/runtimes/linux-x64/native/.
        var nativeDirectory = _temp.Combine("out", "runtimes", "linux-x64", "native");
        Directory.CreateDirectory(nativeDirectory);
        _library = Path.Combine(nativeDirectory, "libLibTorchSharp.so");
        File.Copy(LibTorchSharpPaths.Pristine, _library);

        // A stand-in for an SDK project: the build step hooks after CopyFilesToOutputDirectory.
        _project = _temp.Combine("patch.proj");
        File.WriteAllText(
            _project,
            $"""
            <Project>
              <PropertyGroup>
                <OutDir>{_temp.Combine("out")}/</OutDir>
              </PropertyGroup>
              <Import Project="{LibTorchSharpPaths.PatchTargets}" />
              <Target Name="CopyFilesToOutputDirectory" />
            </Project>
            """);
    }

    [Fact]
    public void BuildStep_SystemLibStdCxxHasTheVersion_LeavesTheLibraryUnchanged()
    {
        // Arrange
        var fakeSystemLibrary = FakeLibStdCxx("GLIBCXX_3.4.30", Version, "GLIBCXX_3.4.33");
        var before = File.ReadAllBytes(_library);

        // Act
        var output = RunBuildStep($"-p:RuntimeCtlSystemLibStdCxxPath={fakeSystemLibrary}");

        // Assert
        Assert.DoesNotContain(PatchedMessage, output, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_library));
    }

    [Fact]
    public void BuildStep_SystemLibStdCxxLacksTheVersion_MarksOnlyThatVersionNeedWeak()
    {
        // Arrange: "GLIBCXX_3.4.3" is a prefix of the needed name and must not count as having it.
        var fakeSystemLibrary = FakeLibStdCxx("GLIBCXX_3.4.3", "GLIBCXX_3.4.30");
        var before = File.ReadAllBytes(_library);
        var needsBefore = ElfVersionNeeds.Read(before);
        Assert.False(needsBefore.Single(n => n.Version == Version).IsWeak);

        // Act
        var output = RunBuildStep($"-p:RuntimeCtlSystemLibStdCxxPath={fakeSystemLibrary}");

        // Assert: one message; the flag is set on that entry alone; exactly one byte of the file differs.
        var after = File.ReadAllBytes(_library);
        var needsAfter = ElfVersionNeeds.Read(after);
        Assert.Single(Occurrences(output, PatchedMessage));
        Assert.True(needsAfter.Single(n => n.Version == Version).IsWeak);
        Assert.Equal(
            needsBefore.Where(n => n.Version != Version),
            needsAfter.Where(n => n.Version != Version));
        Assert.Equal(before.Length, after.Length);
        Assert.Single(Enumerable.Range(0, before.Length), i => before[i] != after[i]);
    }

    [Fact]
    public void BuildStep_RunTwice_SecondRunChangesNothingAndSaysNothing()
    {
        // Arrange
        var fakeSystemLibrary = FakeLibStdCxx("GLIBCXX_3.4.30");
        RunBuildStep($"-p:RuntimeCtlSystemLibStdCxxPath={fakeSystemLibrary}");
        var patched = File.ReadAllBytes(_library);

        // Act
        var output = RunBuildStep($"-p:RuntimeCtlSystemLibStdCxxPath={fakeSystemLibrary}");

        // Assert
        Assert.DoesNotContain(PatchedMessage, output, StringComparison.Ordinal);
        Assert.Equal(patched, File.ReadAllBytes(_library));
    }

    [Fact]
    public void BuildStep_SwitchedOff_LeavesTheLibraryUnchanged()
    {
        // Arrange
        var fakeSystemLibrary = FakeLibStdCxx("GLIBCXX_3.4.30");
        var before = File.ReadAllBytes(_library);

        // Act
        RunBuildStep($"-p:RuntimeCtlSystemLibStdCxxPath={fakeSystemLibrary}", "-p:RuntimeCtlPatchLibTorchSharp=false");

        // Assert
        Assert.Equal(before, File.ReadAllBytes(_library));
    }

    [Fact]
    public void BuildOutput_OfThisTestProject_IsPatchedExactlyWhenTheSystemLacksTheVersion()
    {
        // The test project imports the targets, so its own copy went through the real build step on this machine.
        var systemLibrary = FindSystemLibStdCxx();
        var systemHasVersion = systemLibrary is not null
            && Occurrences(Encoding.Latin1.GetString(File.ReadAllBytes(systemLibrary)), "\0" + Version + "\0").Any();

        var need = ElfVersionNeeds.Read(LibTorchSharpPaths.Output).Single(n => n.Version == Version);

        Assert.Equal(!systemHasVersion, need.IsWeak);
        Assert.False(ElfVersionNeeds.Read(LibTorchSharpPaths.Pristine).Single(n => n.Version == Version).IsWeak);
    }

    public void Dispose() => _temp.Dispose();

    private string FakeLibStdCxx(params string[] versions)
    {
        var path = _temp.Combine($"libstdc++-{Guid.NewGuid():N}.so.6");
        var content = new List<byte>(Encoding.ASCII.GetBytes("\u007fELF fake libstdc++ for tests\0"));
        foreach (var version in versions)
        {
            content.AddRange(Encoding.ASCII.GetBytes(version + "\0"));
        }

        File.WriteAllBytes(path, [.. content]);
        return path;
    }

    private string RunBuildStep(params string[] properties)
    {
        var result = ChildProcess.Run(
            TestPaths.DotnetHost,
            ["msbuild", _project, "-t:CopyFilesToOutputDirectory", "-nologo", "-nodeReuse:false", "-v:n", .. properties],
            MsBuildTimeout);
        Assert.True(result.ExitCode == 0, $"MSBuild failed: {result}");
        return result.Stdout;
    }

    private static string? FindSystemLibStdCxx()
    {
        const string Debian = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (File.Exists(Debian))
        {
            return Debian;
        }

        var listing = ChildProcess.Run("ldconfig", ["-p"], MsBuildTimeout).Stdout;
        return listing.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && l.Contains("x86-64", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf("=>", StringComparison.Ordinal) + 2)..].Trim())
            .FirstOrDefault(File.Exists);
    }

    private static IEnumerable<int> Occurrences(string text, string value)
    {
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            yield return i;
        }
    }
}
