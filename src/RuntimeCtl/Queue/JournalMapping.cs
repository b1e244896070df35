using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace RuntimeCtl;

/// <summary>
/// The journal's reserved space mapped into memory (<c>MAP_SHARED</c>), so that a commit is a copy: the bytes are in
/// the page cache the moment the copy ends, where a killed process leaves them exactly as a <c>pwrite</c> would.
/// Linux only, and only where a store into the mapping cannot fail for want of space: ext2/3/4, XFS and tmpfs, on a
/// file with no hole in the reserved range. Elsewhere (a copy-on-write or network file system, overlayfs) the journal
/// keeps writing with <c>pwrite</c>, which reports a failure as an error where a mapping would raise <c>SIGBUS</c>.
/// </summary>
/// <remarks>
/// Each range is faulted in writable with <c>madvise(MADV_POPULATE_WRITE)</c> before the first copy into it in a batch
/// (64 KiB at a time), which reports what would otherwise be a <c>SIGBUS</c> in the copy (a file cut short, space a
/// copy-on-write extent cannot get, a read error) as an error: the journal then goes back to <c>pwrite</c>. What is
/// left is a file cut short (or a disk failing) between that check and a copy: only a process that may write the
/// trainer's owner-only queue files can cut it, and the <c>SIGBUS</c> then ends the trainer in the middle of a commit,
/// before the command's control runs, as a kill there would (what the cut removed is lost to recovery however the
/// journal writes). A store into a page cleaned by writeback since it was checked faults again; on these file systems
/// that takes no new space, as the block is there and not shared.
/// </remarks>
internal sealed unsafe partial class JournalMapping : IDisposable
{
    private const long Ext = 0xEF53;
    private const long Xfs = 0x58465342;
    private const long Tmpfs = 0x01021994;
    private const int SeekHole = 4;
    private const int PopulateWrite = 23; // MADV_POPULATE_WRITE, Linux 5.14
    private const int SyncNow = 4; // MS_SYNC
    private const int Interrupted = 4;
    private const int Invalid = 22;
    private const long Window = 64 * 1024;

    private static readonly long PageSize = Environment.SystemPageSize;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _length;
    private bool _populates = true;
    private long _checkedTo;

    private JournalMapping(MemoryMappedFile map, MemoryMappedViewAccessor view, byte* start, long length)
    {
        _map = map;
        _view = view;
        _base = start;
        _length = length;
    }

    /// <summary>
    /// Maps the first <paramref name="length"/> bytes of <paramref name="file"/> (all written, none a hole) for writing;
    /// null with the reason when the journal should write with <c>pwrite</c> instead.
    /// </summary>
    public static JournalMapping? TryCreate(FileStream file, long length, out string reason)
    {
        if (!UnixFileStatus.IsSupported)
        {
            reason = "not Linux";
            return null;
        }

        var fd = (int)file.SafeFileHandle.DangerousGetHandle();
        Span<byte> buffer = stackalloc byte[256];
        if (fstatfs(fd, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            reason = "fstatfs failed: " + Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            return null;
        }

        // struct statfs's f_type (a long) comes first on x64 and arm64.
        var type = MemoryMarshal.Read<long>(buffer) & 0xFFFFFFFFL;
        if (type is not (Ext or Xfs or Tmpfs))
        {
            reason = $"file system type 0x{type:X}, where a store into a mapping may need space it cannot get";
            return null;
        }

        // A hole (the file extended by a truncate, not written) would take a block at the first store.
        var hole = lseek(fd, 0, SeekHole);
        if (hole < length)
        {
            reason = hole < 0 ? "lseek(SEEK_HOLE) failed" : $"a hole at offset {hole}";
            return null;
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            map = MemoryMappedFile.CreateFromFile(file, mapName: null, capacity: 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            var mapping = new JournalMapping(map, view, start + view.PointerOffset, length);
            if (type == Xfs && !mapping.CanPopulate())
            {
                // Only MADV_POPULATE_WRITE would catch a shared (reflinked) extent that a full disk cannot copy.
                mapping.Dispose();
                reason = "XFS, and MADV_POPULATE_WRITE is missing (Linux before 5.14) or failed";
                return null;
            }

            reason = string.Empty;
            return mapping;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            view?.Dispose();
            map?.Dispose();
            reason = e.Message;
            return null;
        }
    }

    /// <summary>Starts a batch: each range is checked again before its first copy (pages may have been evicted since).</summary>
    public void Restart() => _checkedTo = 0;

    /// <summary>Copies <paramref name="bytes"/> to <paramref name="offset"/>; false (nothing copied) when their range cannot be faulted in writable.</summary>
    public bool TryWrite(ReadOnlySpan<byte> bytes, long offset)
    {
        var end = offset + bytes.Length;
        if (end > _length || (end > _checkedTo && !Populate(end)))
        {
            return false;
        }

        bytes.CopyTo(new Span<byte>(_base + offset, bytes.Length));
        return true;
    }

    /// <summary>Makes the pages holding <c>[offset, offset + count)</c> durable (<c>msync(MS_SYNC)</c>, on Linux a <c>fdatasync</c> of that range).</summary>
    /// <exception cref="IOException">The system could not write them.</exception>
    public void Flush(long offset, int count)
    {
        var start = offset & ~(PageSize - 1);
        var length = offset + count - start;
        int result;
        do
        {
            result = msync(_base + start, (nuint)length, SyncNow);
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == Interrupted);

        if (result != 0)
        {
            throw new IOException($"Cannot make the journal durable (msync): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}.");
        }
    }

    /// <summary>Unmaps the file, syncing nothing: what was copied stays in the page cache, written back as any write.</summary>
    public void Dispose()
    {
        // The view's own Dispose would first Flush, an msync(MS_SYNC) of the whole view: a disk flush at every close
        // that KillSafe never asked for. Closing its handle first unmaps it (munmap) and makes that Flush a no-op.
        var handle = _view.SafeMemoryMappedViewHandle;
        if (!handle.IsClosed)
        {
            handle.ReleasePointer();
            handle.Dispose();
        }

        _view.Dispose();
        _map.Dispose();
    }

    private bool CanPopulate() => Populate(Math.Min(_length, PageSize)) && _populates;

    /// <summary>Faults in writable the pages from the last checked one to <paramref name="end"/>, and up to a window beyond.</summary>
    private bool Populate(long end)
    {
        if (!_populates)
        {
            return true;
        }

        // Writes go forward from the batch's start, so everything below _checkedTo (page-aligned) is checked.
        var from = _checkedTo;
        var to = Math.Min(_length, (Math.Max(end, from + Window) + PageSize - 1) & ~(PageSize - 1));
        int result;
        do
        {
            result = madvise(_base + from, (nuint)(to - from), PopulateWrite);
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == Interrupted);

        if (result == 0)
        {
            _checkedTo = to;
            return true;
        }

        if (Marshal.GetLastPInvokeError() == Invalid)
        {
            // A kernel before 5.14: the checks at open are all there is.
            _populates = false;
            _checkedTo = _length;
            return true;
        }

        return false;
    }

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int fstatfs(int fd, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "lseek64", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int madvise(byte* address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "msync", SetLastError = true)]
    private static partial int msync(byte* address, nuint length, int flags);
}
