using System.Runtime.InteropServices;

namespace RuntimeCtl.Mpi.Tests;

public sealed class RuntimeSignalsTests
{
    [Fact]
    public unsafe void KeepForRuntime_Called_UcxErrorSignalsIsEmptyUnlessTheUserSetIt()
    {
        // Arrange
        var expected = Environment.GetEnvironmentVariable("UCX_ERROR_SIGNALS") ?? string.Empty;

        // Act
        RuntimeSignals.KeepForRuntime();

        // Assert: UCX reads the C environment, which Environment.SetEnvironmentVariable does not write.
        var getenv = (delegate* unmanaged<byte*, byte*>)NativeLibrary.GetExport(NativeLibrary.GetMainProgramHandle(), "getenv");
        fixed (byte* name = "UCX_ERROR_SIGNALS\0"u8)
        {
            var value = getenv(name);
            Assert.True(value != null, "UCX_ERROR_SIGNALS is not set in the C environment");
            Assert.Equal(expected, Marshal.PtrToStringUTF8((nint)value));
        }
    }
}
