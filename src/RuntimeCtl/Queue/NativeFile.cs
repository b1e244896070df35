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

    private const int Exclusive = 0x80;
    private const int NonBlocking = 0x800;
    private const int SymlinkNoFollow = 0x100;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int WouldBlock = 11;

    /// <summary><c>O_NOFOLLOW</c>, which differs between x64 and arm64.</summary>
    private static int NoFollow => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    /// <summary><c>O_DIRECTORY</c>, which differs between x64 and arm64.</summary>
    private static int DirectoryOnly => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;

    /// <summary>Opens a directory itself, never through a symlink (<c>O_DIRECTORY|O_NOFOLLOW</c>), to open its files relative to it.</summary>
    /// <exception cref="IOException">It cannot be opened, or it is a symlink or not a directory.</exception>
    public static SafeAppendHandle OpenDirectory(string path)
    {
        var fd = Retry(() => open(path, DirectoryOnly | NoFollow | CloseOnExec, 0));
        return fd < 0
            ? throw Error(Marshal.GetLastPInvokeError(), $"Cannot open the directory '{path}' (it must be a directory, not a symlink)")
            : new SafeAppendHandle(fd);
    }

    /// <summary>
    /// Opens <paramref name="name"/> in <paramref name="directory"/> with <c>openat</c>, never through a symlink and never
    /// blocking (a FIFO planted there opens at once, and is then refused): only a regular file is returned.
    /// </summary>
    /// <param name="directory">The directory's descriptor.</param>
    /// <param name="name">A name in it (no slashes).</param>
    /// <param name="mode">How to open: <see cref="FileMode.Open"/>, <see cref="FileMode.OpenOrCreate"/>, <see cref="FileMode.CreateNew"/> (<c>O_EXCL</c>) or <see cref="FileMode.Append"/>.</param>
    /// <param name="access">Read, write or both.</param>
    /// <exception cref="FileNotFoundException">It does not exist and <paramref name="mode"/> does not create it.</exception>
    /// <exception cref="IOException">It cannot be opened, or it is a symlink or not a regular file.</exception>
    public static SafeAppendHandle OpenAt(SafeAppendHandle directory, string name, FileMode mode, FileAccess access)
    {
        var flags = (access switch { FileAccess.Read => 0, FileAccess.Write => 1, _ => ReadWrite }) | NoFollow | NonBlocking | CloseOnExec;
        flags |= mode switch
        {
            FileMode.OpenOrCreate => Create,
            FileMode.CreateNew => Create | Exclusive,
            FileMode.Append => Create | Append,
            _ => 0,
        };
        var fd = Retry(() => openat(directory.Descriptor, name, flags, 0x180));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            const int NoEntry = 2, TooManyLinks = 40;
            throw errno switch
            {
                NoEntry => new FileNotFoundException($"'{name}' does not exist.", name),
                TooManyLinks => new IOException($"'{name}' is a symbolic link; a queue file must be a regular file of its own. Remove the link."),
                _ => Error(errno, $"Cannot open '{name}'"),
            };
        }

        return Regular(new SafeAppendHandle(fd), name);
    }

    /// <summary>Renames <paramref name="from"/> over <paramref name="to"/>, both in <paramref name="directory"/> (<c>renameat</c>).</summary>
    public static void RenameAt(SafeAppendHandle directory, string from, string to)
    {
        if (Retry(() => renameat(directory.Descriptor, from, directory.Descriptor, to)) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"Cannot rename '{from}' to '{to}'");
        }
    }

    /// <summary>Removes <paramref name="name"/> from <paramref name="directory"/> if it is there (a symlink is removed, never followed).</summary>
    public static void UnlinkAt(SafeAppendHandle directory, string name) => unlinkat(directory.Descriptor, name, 0);

    /// <summary>Reads what <paramref name="name"/> in <paramref name="directory"/> is, without following a symlink.</summary>
    public static bool TryStatAt(SafeAppendHandle directory, string name, out UnixFileStatus.Status status) =>
        UnixFileStatus.TryStatAt(directory.Descriptor, name, SymlinkNoFollow, out status);

    /// <summary>Takes an exclusive <c>flock</c> without waiting; false when another holds it.</summary>
    public static bool TryLock(SafeAppendHandle handle)
    {
        if (Retry(() => flock(handle.Descriptor, LockExclusive | LockNonBlocking)) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == WouldBlock ? false : throw Error(errno, "Cannot lock the senders' lock file");
    }

    /// <summary>Wraps a regular file's descriptor in a <see cref="FileStream"/> (which then owns it).</summary>
    public static FileStream Stream(SafeAppendHandle handle, FileAccess access)
    {
        var fd = handle.Descriptor;
        handle.SetHandleAsInvalid();
        return new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(new IntPtr(fd), ownsHandle: true), access, bufferSize: 0);
    }

    private static int Retry(Func<int> call)
    {
        int result;
        do
        {
            result = call();
        }
        while (result < 0 && Marshal.GetLastPInvokeError() == Interrupted);

        return result;
    }

    /// <summary>Opens <paramref name="path"/> for appending (<c>O_RDWR|O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC</c>, mode 0600 when created).</summary>
    /// <exception cref="IOException">The file cannot be opened; the message is the system's, with the path.</exception>
    public static SafeAppendHandle OpenAppend(string path)
    {
        var fd = Retry(() => open(path, ReadWrite | Create | Append | NoFollow | NonBlocking | CloseOnExec, 0x180));
        if (fd < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"Cannot open '{path}' for appending");
        }

        return Regular(new SafeAppendHandle(fd), path);
    }

    /// <summary>
    /// Opens <paramref name="path"/> to read, never through a symlink at its last part and never blocking: a FIFO or
    /// a device put there is refused instead of hanging a reader (status, the dashboard).
    /// </summary>
    /// <exception cref="FileNotFoundException">It does not exist.</exception>
    /// <exception cref="IOException">It cannot be opened, or it is not a regular file.</exception>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenRead(string path)
    {
        if (!IsSupported)
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }

        var fd = Retry(() => open(path, NoFollow | NonBlocking | CloseOnExec, 0));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == 2 ? new FileNotFoundException($"'{path}' does not exist.", path) : Error(errno, $"Cannot open '{path}'");
        }

        var handle = Regular(new SafeAppendHandle(fd), path);
        handle.SetHandleAsInvalid();
        return new Microsoft.Win32.SafeHandles.SafeFileHandle(new IntPtr(fd), ownsHandle: true);
    }

    private static SafeAppendHandle Regular(SafeAppendHandle handle, string name)
    {
        if (!UnixFileStatus.TryFStat(handle.Descriptor, out var status) || !status.IsRegularFile)
        {
            handle.Dispose();
            throw new IOException($"'{name}' is not a regular file (a FIFO, a device or a directory); a queue file must be a regular file. Remove it.");
        }

        return handle;
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
        if (end >= 0 && UnixFileStatus.TryFStat(fd, out var status) && status.Size == end)
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
    public static long Size(SafeAppendHandle handle) => UnixFileStatus.TryFStat(handle.Descriptor, out var status) ? status.Size : -1;

    private static IOException Error(int errno, string what) => new($"{what}: {Marshal.GetPInvokeErrorMessage(errno)}.");

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int openat(int directory, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "renameat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int renameat(int fromDirectory, string from, int toDirectory, string to);

    [LibraryImport("libc", EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int unlinkat(int directory, string path, int flags);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int flock(int fd, int operation);

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
