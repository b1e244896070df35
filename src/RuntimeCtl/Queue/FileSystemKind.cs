using System.Runtime.InteropServices;

namespace RuntimeCtl;

/// <summary>
/// Tells whether a directory is on a network or FUSE file system (<c>statfs(2)</c>'s <c>f_type</c>), where the
/// queue's guarantees do not hold: appends from two machines are not atomic over NFS, <c>flock</c> may be local
/// only, and a FUSE daemon decides both. Linux only; elsewhere nothing is detected.
/// </summary>
internal static partial class FileSystemKind
{
    private static readonly (long Magic, string Name)[] Remote =
    [
        (0x6969, "NFS"),
        (0x517B, "SMB"),
        (0xFF534D42, "CIFS/SMB"),
        (0xFE534D42, "SMB2/3"),
        (0x65735546, "FUSE"),
        (0x00C36400, "Ceph"),
        (0x01021997, "9p"),
        (0x5346414F, "AFS"),
        (0x0BD00BD0, "Lustre"),
        (0x47504653, "GPFS"),
        (0x73757245, "Coda"),
    ];

    /// <summary>Gets the name of the network or FUSE file system <paramref name="path"/> is on, or null for a local one (or unknown).</summary>
    public static string? RemoteName(string path)
    {
        if (!UnixFileStatus.IsSupported)
        {
            return null;
        }

        // struct statfs is 120 bytes on x64 and arm64; f_type (a long) comes first on both.
        Span<byte> buffer = stackalloc byte[256];
        if (statfs(path, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return null;
        }

        var magic = MemoryMarshal.Read<long>(buffer) & 0xFFFFFFFFL;
        foreach (var (known, name) in Remote)
        {
            if (known == magic)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>The warning for a queue on <paramref name="fileSystem"/>, and how to silence it.</summary>
    public static string Warning(string directory, string fileSystem, string silence) =>
        $"The queue directory '{directory}' is on a {fileSystem} file system. The queue's guarantees (atomic appends, the senders' lock, exactly-once acks) need a local disk: put the queue on the local disk of the machine that runs rank 0 and send from there (or over 'runtimectl serve'). {silence} if this file system is known to be safe for it.";

    [LibraryImport("libc", EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statfs(string path, ref byte buffer);
}
