namespace RuntimeCtl.Tests.Support;

/// <summary>
/// A fact that needs root (mounting a file system, <c>chown</c>) and, when named, programs on PATH: skipped without
/// them, unless <c>RUNTIMECTL_REQUIRE_ROOT=1</c> (CI) makes it run and fail.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RootFactAttribute : FactAttribute
{
    public const string RequireVariable = "RUNTIMECTL_REQUIRE_ROOT";

    public RootFactAttribute(params string[] programs)
    {
        if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
        {
            return;
        }

        if (!OperatingSystem.IsLinux() || UnixFileStatus.EffectiveUserId != 0)
        {
            Skip = $"needs root on Linux (set {RequireVariable}=1 to fail instead)";
        }
        else if (programs.FirstOrDefault(p => !OnPath(p)) is { } missing)
        {
            Skip = $"needs '{missing}' on PATH (set {RequireVariable}=1 to fail instead)";
        }
    }

    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, program)));
}
