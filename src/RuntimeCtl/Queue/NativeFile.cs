using System.Runtime.InteropServices;

namespace RuntimeCtl;

/// <summary>
/// The few <c>open(2)</c>/<c>write(2)</c> calls the BCL cannot make on Linux: an append that the kernel places at the
/// end of the file (<c>O_APPEND</c>; .NET's <see cref="FileMode.Append"/> only seeks there), written with one
/// <c>write(2)</c> so that writers that do not take our lock (the Python CLI, <c>echo &gt;&gt;</c>) never overwrite a
/// line or interleave with one. Elsewhere <see cref="IsSupported"/> is false and callers use <see cref="FileStream"/>.
/// </summary>
internal static partial class NativeFile
{
    private const int ReadWrite = 0x2;
    private const int Create = 0x40;
    private const int Append = 0x400;
    private const int CloseOnExec = 0x80000;
    private const int SeekCurrent = 1;
    private const int Interrupted = 4;

    /// <summary>Gets whether the native calls are used (Linux on x64 or arm64, the layouts <see cref="UnixFileStatus"/> reads).</summary>
    public static bool IsSupported => UnixFileStatus.IsSupported;

    /// <summary><c>O_NOFOLLOW</c>, which differs between x64 and arm64.</summary>
    private static int NoFollow => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    /// <summary>Opens <paramref name="path"/> for appending (<c>O_RDWR|O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC</c>, mode 0600 when created).</summary>
    /// <exception cref="IOException">The file cannot be opened; the message is the system's, with the path.</exception>
    public static SafeAppendHandle OpenAppend(string path)
    {
        int fd;
        do
        {
            fd = open(path, ReadWrite | Create | Append | NoFollow | CloseOnExec, 0x180);
        }
        while (fd < 0 && Marshal.GetLastPInvokeError() == Interrupted);

        if (fd < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"Cannot open '{path}' for appending");
        }

        return new SafeAppendHandle(fd);
    }

    /// <summary>
    /// Appends <paramref name="bytes"/> with exactly one <c>write(2)</c>. A short write (a full disk) is undone when
    /// nothing was appended after it, and reported: a partial line is never left for a reader to take as a command.
    /// </summary>
    /// <returns>The offset in the file where the bytes start.</returns>
    /// <exception cref="IOException">The write failed or was cut short; the message names the system's reason.</exception>
    public static unsafe long AppendOnce(SafeAppendHandle handle, ReadOnlySpan<byte> bytes)
    {
        var fd = handle.Descriptor;
        nint written;
        fixed (byte* data = bytes)
        {
            do
            {
                written = write(fd, data, bytes.Length);
            }
            while (written < 0 && Marshal.GetLastPInvokeError() == Interrupted);
        }

        if (written < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "Cannot append the command");
        }

        var end = lseek(fd, 0, SeekCurrent);
        if (written == bytes.Length)
        {
            return end - written;
        }

        // A short write: take the partial bytes back if they are still the end of the file.
        var removed = false;
        if (end >= 0 && UnixFileStatus.TryGetSize(fd, out var size) && size == end)
        {
            removed = ftruncate(fd, end - written) == 0;
        }

        var state = removed ? "the partial line was removed" : "a partial line may remain and will be rejected by the trainer";
        throw new IOException($"Cannot append the command: only {written} of {bytes.Length} bytes were written (No space left on device?); {state}. Nothing was queued.");
    }

    /// <summary>Reads up to <paramref name="buffer"/>'s length at <paramref name="offset"/>; returns the count read, or -1.</summary>
    public static unsafe int ReadAt(SafeAppendHandle handle, Span<byte> buffer, long offset)
    {
        fixed (byte* data = buffer)
        {
            nint read;
            do
            {
                read = pread(handle.Descriptor, data, buffer.Length, offset);
            }
            while (read < 0 && Marshal.GetLastPInvokeError() == Interrupted);

            return (int)read;
        }
    }

    /// <summary>Gets the size of the open file, or -1.</summary>
    public static long Size(SafeAppendHandle handle) => UnixFileStatus.TryGetSize(handle.Descriptor, out var size) ? size : -1;

    private static IOException Error(int errno, string what) => new($"{what}: {Marshal.GetPInvokeErrorMessage(errno)}.");

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "pread64", SetLastError = true)]
    private static unsafe partial nint pread(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "lseek64", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "ftruncate64", SetLastError = true)]
    private static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);
}

/// <summary>A file descriptor opened by <see cref="NativeFile.OpenAppend"/>, closed on dispose.</summary>
internal sealed class SafeAppendHandle : SafeHandle
{
    public SafeAppendHandle(int fd)
        : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle == new IntPtr(-1);

    public int Descriptor => (int)handle;

    protected override bool ReleaseHandle() => NativeFile.close((int)handle) == 0;
}
