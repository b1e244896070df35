using System.Runtime.InteropServices;

namespace RuntimeCtl.TorchSharp;

/// <summary>
/// Whether a checkpoint directory may be trusted: its owner is this user and nobody else can write it or its files,
/// as the queue directory's checks (a checkpoint is code-adjacent: loading one replaces the model's weights). Linux
/// x64/arm64 read the owner with <c>stat(2)</c>; elsewhere only the modes the BCL exposes are checked.
/// </summary>
internal static partial class CheckpointTrust
{
    /// <summary>Throws when <paramref name="directory"/> or a file in it belongs to another user or is writable by others.</summary>
    /// <exception cref="UnauthorizedAccessException">It may not be trusted; the message says why and how to fix it.</exception>
    public static void Check(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (var path in Directory.EnumerateFiles(directory).Prepend(directory))
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new UnauthorizedAccessException($"'{path}' is writable by other users (mode {Convert.ToString((int)mode, 8)}), so its weights cannot be trusted. Run 'chmod go-w' on it after checking it, or save the checkpoint again.");
            }

            if (Owner(path) is { } owner && owner != geteuid())
            {
                throw new UnauthorizedAccessException($"'{path}' belongs to another user (uid {owner}), so its weights cannot be trusted. Copy the checkpoint into your own checkpoint root after checking it.");
            }
        }
    }

    private static uint? Owner(string path)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return null;
        }

        // st_uid is at offset 28 on x64 and 24 on arm64.
        Span<byte> buffer = stackalloc byte[256];
        return lstat(path, ref MemoryMarshal.GetReference(buffer)) == 0
            ? MemoryMarshal.Read<uint>(buffer[(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 28 : 24)..])
            : null;
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lstat(string path, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint geteuid();
}
