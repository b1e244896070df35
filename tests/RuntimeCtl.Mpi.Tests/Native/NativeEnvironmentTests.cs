using System.Runtime.InteropServices;

namespace RuntimeCtl.Mpi.Tests;

public sealed class NativeEnvironmentTests
{
    private const string Name = "RUNTIMECTL_MPI_TESTS_NATIVE_ENVIRONMENT";

    [Fact]
    public void SetDefault_VariableUnset_IsVisibleToGetenv()
    {
        // Act
        var set = NativeEnvironment.SetDefault(Name + "_A", "first");

        // Assert: Environment.GetEnvironmentVariable would not see it; C code reading getenv does.
        Assert.True(set);
        Assert.Equal("first", Getenv(Name + "_A"));
    }

    [Fact]
    public void SetDefault_VariableAlreadySet_KeepsTheExistingValue()
    {
        // Arrange
        NativeEnvironment.SetDefault(Name + "_B", "user's");

        // Act
        NativeEnvironment.SetDefault(Name + "_B", "ours");

        // Assert
        Assert.Equal("user's", Getenv(Name + "_B"));
    }

    [Fact]
    public void SetDefault_EmptyValue_SetsAnEmptyVariable()
    {
        // Act: how UCX_ERROR_SIGNALS is turned off.
        NativeEnvironment.SetDefault(Name + "_C", string.Empty);

        // Assert
        Assert.Equal(string.Empty, Getenv(Name + "_C"));
    }

    private static unsafe string? Getenv(string name)
    {
        var getenv = (delegate* unmanaged<byte*, byte*>)NativeLibrary.GetExport(NativeLibrary.GetMainProgramHandle(), "getenv");
        var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = bytes)
        {
            return Marshal.PtrToStringUTF8((nint)getenv(n));
        }
    }
}
