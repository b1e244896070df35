namespace RuntimeCtl.Cli.Tests.Support;

/// <summary>
/// A fact that needs Debian's Chromium: skipped when it is not installed, unless <c>RUNTIMECTL_REQUIRE_BROWSER=1</c>
/// (CI, whose .ci/run installs it) makes it run and fail.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Set to 1 (as CI does) to make a missing Chromium a failure instead of a skip.</summary>
    public const string RequireVariable = "RUNTIMECTL_REQUIRE_BROWSER";

    private const string InstallHint = "Install it with 'apt-get install -y chromium'.";

    private static readonly string[] Candidates = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

    public BrowserFactAttribute()
    {
        if (Chromium is null && Environment.GetEnvironmentVariable(RequireVariable) != "1")
        {
            Skip = $"Chromium is not at {string.Join(" or ", Candidates)}. {InstallHint} Set {RequireVariable}=1 to make this a failure.";
        }
    }

    /// <summary>Gets the Chromium executable, or <see langword="null"/> when it is not installed.</summary>
    public static string? Chromium { get; } = Candidates.FirstOrDefault(File.Exists);

    /// <summary>Gets the Chromium executable, or fails the test (when it runs though Chromium is missing) with how to install it.</summary>
    public static string RequireChromium() =>
        Chromium ?? throw new InvalidOperationException($"Chromium is not installed and {RequireVariable}=1 requires it. {InstallHint}");
}
