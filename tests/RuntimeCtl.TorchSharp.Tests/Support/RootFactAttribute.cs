namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>A fact that needs root (to give a file to another user): skipped without it, unless <c>RUNTIMECTL_REQUIRE_ROOT=1</c> (CI) makes it run and fail.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("RUNTIMECTL_REQUIRE_ROOT") != "1" && (!OperatingSystem.IsLinux() || Environment.UserName != "root"))
        {
            Skip = "needs root on Linux (set RUNTIMECTL_REQUIRE_ROOT=1 to fail instead)";
        }
    }
}
