using System.Runtime.InteropServices;
using System.Text;

namespace RuntimeCtl;

/// <summary>Keeps the fault signals the .NET runtime relies on out of the hands of MPI's transports.</summary>
internal static unsafe class RuntimeSignals
{
    internal const string UcxErrorSignals = "UCX_ERROR_SIGNALS";

    /// <summary>
    /// Tells UCX, before the MPI library loads it, to install no handlers for SIGSEGV, SIGBUS, SIGFPE and SIGILL,
    /// unless the user configured <c>UCX_ERROR_SIGNALS</c> already.
    /// </summary>
    /// <remarks>
    /// The runtime raises <see cref="NullReferenceException"/> and <see cref="DivideByZeroException"/> from those
    /// signals. UCX (MPICH's default transport on Debian, Open MPI's on InfiniBand) installs its own handlers when it
    /// loads, which then print a backtrace and kill the process on the first null dereference in managed code.
    /// UCX reads the variable from the native environment, which <see cref="Environment.SetEnvironmentVariable(string, string)"/>
    /// does not change, so it is set with the C library's <c>setenv</c>.
    /// </remarks>
    public static void KeepForRuntime()
    {
        if (Environment.GetEnvironmentVariable(UcxErrorSignals) is not null
            || !NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "setenv", out var address))
        {
            return;
        }

        var setenv = (delegate* unmanaged<byte*, byte*, int, int>)address;
        var name = Encoding.UTF8.GetBytes(UcxErrorSignals + "\0");
        byte empty = 0;
        fixed (byte* n = name)
        {
            _ = setenv(n, &empty, 0);
        }
    }
}
