using System.Buffers.Binary;
using System.Text;

namespace RuntimeCtl.TorchSharp;

/// <summary>
/// A checkpoint directory's files as one buffer, to send from rank 0 to the other ranks of a job whose hosts do not
/// share a disk: <c>[count][name length][name][data length][data]...</c>, little-endian, names relative and plain.
/// </summary>
internal static class CheckpointFiles
{
    /// <summary>What a rank received: the files, or why rank 0 could not send them.</summary>
    internal readonly record struct Received(byte[] Files, string? Problem);

    /// <summary>Reads every file of <paramref name="directory"/> (no subdirectories: a checkpoint has none).</summary>
    public static byte[] Pack(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"load_ckpt: there is no checkpoint at '{directory}'");
        }

        using var buffer = new MemoryStream();
        var files = Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToArray();
        Write(buffer, files.Length);
        foreach (var file in files)
        {
            var name = Encoding.UTF8.GetBytes(Path.GetFileName(file));
            var data = File.ReadAllBytes(file);
            Write(buffer, name.Length);
            buffer.Write(name);
            Write(buffer, data.Length);
            buffer.Write(data);
        }

        return buffer.ToArray();
    }

    /// <summary>Writes the files into a fresh owner-only directory under the temp folder and returns its path.</summary>
    public static string Unpack(byte[] files)
    {
        var directory = Directory.CreateTempSubdirectory("runtimectl-ckpt-").FullName;
        var span = files.AsSpan();
        var count = Read(ref span);
        for (var i = 0; i < count; i++)
        {
            var nameLength = Read(ref span);
            var name = Encoding.UTF8.GetString(span[..nameLength]);
            span = span[nameLength..];
            if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or "..")
            {
                throw new InvalidDataException($"load_ckpt: rank 0 sent a file name that is not plain: '{name}'");
            }

            var length = Read(ref span);
            File.WriteAllBytes(Path.Combine(directory, name), span[..length].ToArray());
            span = span[length..];
        }

        return directory;
    }

    /// <summary>Sends rank 0's files (or its problem) to every rank: a header with the length and the kind, then the bytes.</summary>
    public static Received Broadcast(IProcessGroup group, byte[] files, string? problem)
    {
        var payload = problem is null ? files : Encoding.UTF8.GetBytes(problem);
        Span<byte> header = stackalloc byte[5];
        BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
        header[4] = problem is null ? (byte)0 : (byte)1;
        group.Broadcast(header);
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        var received = group.Rank == 0 ? payload : new byte[length];
        group.Broadcast(received);
        return header[4] == 0 ? new Received(received, null) : new Received([], Encoding.UTF8.GetString(received));
    }

    private static void Write(Stream stream, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        stream.Write(bytes);
    }

    private static int Read(ref Span<byte> span)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(span);
        span = span[4..];
        return value;
    }
}
