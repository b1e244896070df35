using System.Buffers.Binary;
using System.Text;

namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>
/// Reads the version needs (<c>.gnu.version_r</c>) of a little-endian ELF64 file, written independently of the
/// build step's own parser so that each checks the other.
/// </summary>
internal static class ElfVersionNeeds
{
    public const ushort WeakFlag = 0x2;

    private const uint SectionTypeVerneed = 0x6ffffffe;

    /// <summary>One Vernaux entry: the library it is needed from, the version name and its flags.</summary>
    public sealed record Entry(string Library, string Version, ushort Flags)
    {
        public bool IsWeak => (Flags & WeakFlag) != 0;
    }

    public static IReadOnlyList<Entry> Read(string path) => Read(File.ReadAllBytes(path));

    public static IReadOnlyList<Entry> Read(ReadOnlySpan<byte> elf)
    {
        if (!elf[..4].SequenceEqual("\u007fELF"u8) || elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("Not a little-endian ELF64 file.");
        }

        var sectionHeaders = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]));
        var headerSize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        var headerCount = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        var entries = new List<Entry>();
        for (var i = 0; i < headerCount; i++)
        {
            var header = elf.Slice(sectionHeaders + (i * headerSize), headerSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != SectionTypeVerneed)
            {
                continue;
            }

            var offset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header[24..]));
            var link = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[40..]);
            var count = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[44..]);
            var strings = elf.Slice(sectionHeaders + (link * headerSize), headerSize);
            var stringTable = elf[checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strings[24..]))..];

            var need = offset;
            for (var n = 0; n < count; n++)
            {
                var library = ReadString(stringTable, BinaryPrimitives.ReadUInt32LittleEndian(elf[(need + 4)..]));
                var auxCount = BinaryPrimitives.ReadUInt16LittleEndian(elf[(need + 2)..]);
                var aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(need + 8)..]);
                for (var a = 0; a < auxCount; a++)
                {
                    var flags = BinaryPrimitives.ReadUInt16LittleEndian(elf[(aux + 4)..]);
                    var name = ReadString(stringTable, BinaryPrimitives.ReadUInt32LittleEndian(elf[(aux + 8)..]));
                    entries.Add(new Entry(library, name, flags));
                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(aux + 12)..]);
                }

                need += (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(need + 12)..]);
            }
        }

        return entries;
    }

    private static string ReadString(ReadOnlySpan<byte> table, uint offset)
    {
        var text = table[(int)offset..];
        return Encoding.ASCII.GetString(text[..text.IndexOf((byte)0)]);
    }
}
