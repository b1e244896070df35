using System.Runtime.InteropServices;

namespace RuntimeCtl;

/// <summary>
/// The owner and identity of a file, which the BCL does not expose: <c>stat(2)</c> through libc, on the two
/// Linux layouts of <c>struct stat</c> we support (x64 and arm64). Elsewhere every <c>Try…</c> returns false and
/// the callers fall back to what the BCL tells.
/// </summary>
internal static partial class UnixFileStatus
{
    private const int StatSize = 256;

    public static bool IsSupported { get; } = OperatingSystem.IsLinux()
        && (RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64);

    public static uint EffectiveUserId => IsSupported ? geteuid() : 0;

    /// <summary>What <c>stat(2)</c> says of a file.</summary>
    /// <param name="Mode">The type and permission bits (<c>st_mode</c>).</param>
    /// <param name="OwnerId">The owner's uid.</param>
    /// <param name="Device">The device.</param>
    /// <param name="Inode">The inode.</param>
    /// <param name="Size">The size in bytes.</param>
    internal readonly record struct Status(uint Mode, uint OwnerId, ulong Device, ulong Inode, long Size)
    {
        private const uint TypeMask = 0xF000;

        public bool IsRegularFile => (Mode & TypeMask) == 0x8000;

        public bool IsDirectory => (Mode & TypeMask) == 0x4000;

        public bool IsSymbolicLink => (Mode & TypeMask) == 0xA000;

        public bool IsSticky => (Mode & 0x200) != 0;

        public bool GroupWritable => (Mode & 0x10) != 0;

        public bool OthersWritable => (Mode & 0x2) != 0;

        /// <summary>Gets the permission bits as the BCL's <see cref="UnixFileMode"/>.</summary>
        public UnixFileMode Permissions => (UnixFileMode)(Mode & 0xFFF);
    }

    /// <summary>Reads what an open descriptor is (<c>fstat(2)</c>).</summary>
    public static bool TryFStat(int fd, out Status status)
    {
        status = default;
        Span<byte> buffer = stackalloc byte[StatSize];
        if (!IsSupported || fstat(fd, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return false;
        }

        status = Parse(buffer);
        return true;
    }

    /// <summary>Reads what a name in a directory is (<c>fstatat(2)</c>; with AT_SYMLINK_NOFOLLOW a symlink is reported as one).</summary>
    public static bool TryStatAt(int directory, string name, int flags, out Status status)
    {
        status = default;
        Span<byte> buffer = stackalloc byte[StatSize];
        if (!IsSupported || fstatat(directory, name, ref MemoryMarshal.GetReference(buffer), flags) != 0)
        {
            return false;
        }

        status = Parse(buffer);
        return true;
    }

    /// <summary>Reads what a path is, following symlinks (<c>stat(2)</c>).</summary>
    public static bool TryStat(string path, out Status status)
    {
        status = default;
        Span<byte> buffer = stackalloc byte[StatSize];
        if (!IsSupported || stat(path, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return false;
        }

        status = Parse(buffer);
        return true;
    }

    private static Status Parse(ReadOnlySpan<byte> buffer)
    {
        // x64: st_dev@0, st_ino@8, st_nlink@16, st_mode@24, st_uid@28, st_size@48.
        // arm64: st_dev@0, st_ino@8, st_mode@16, st_nlink@20, st_uid@24, st_size@48.
        var x64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
        return new Status(
            MemoryMarshal.Read<uint>(buffer[(x64 ? 24 : 16)..]),
            MemoryMarshal.Read<uint>(buffer[(x64 ? 28 : 24)..]),
            MemoryMarshal.Read<ulong>(buffer),
            MemoryMarshal.Read<ulong>(buffer[8..]),
            MemoryMarshal.Read<long>(buffer[48..]));
    }

    [LibraryImport("libc", EntryPoint = "fstatat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int fstatat(int directory, string path, ref byte buffer, int flags);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int fstat(int fd, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int stat(string path, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint geteuid();
}
