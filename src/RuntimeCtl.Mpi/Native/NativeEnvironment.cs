using System.Runtime.InteropServices;
using System.Text;

namespace RuntimeCtl.Mpi;

/// <summary>
/// Writes the C environment that MPI and its transports read with <c>getenv</c>, which
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not change on Unix.
/// </summary>
internal static unsafe class NativeEnvironment
{
    /// <summary>
    /// Sets <paramref name="name"/> to <paramref name="value"/> unless it is set already, so a user's own setting wins.
    /// </summary>
    /// <returns><see langword="true"/> when the C library's <c>setenv</c> was found and succeeded.</returns>
    public static bool SetDefault(string name, string value)
    {
        if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "setenv", out var address))
        {
            return false;
        }

        var setenv = (delegate* unmanaged<byte*, byte*, int, int>)address;
        fixed (byte* n = Encoding.UTF8.GetBytes(name + "\0"))
        fixed (byte* v = Encoding.UTF8.GetBytes(value + "\0"))
        {
            return setenv(n, v, 0) == 0;
        }
    }
}
