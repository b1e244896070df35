using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace RuntimeCtl.Testing;

/// <summary>
/// Tells when a file in a directory is read, as the kernel reports it (inotify <c>IN_ACCESS</c>: bytes were read from
/// it), so a test can see that the code under test looked at a file, without timing. Linux only.
/// </summary>
public sealed partial class FileReadWatch : IDisposable
{
    private const int NonBlocking = 0x800;
    private const int CloseOnExec = 0x80000;
    private const uint Access = 0x1;
    private const short PollIn = 0x1;
    private const int TooManyOpen = 24; // EMFILE
    private const int TooManyOpenInSystem = 23; // ENFILE
    private const int HeaderBytes = 16; // int wd, uint mask, uint cookie, uint len, then len bytes of name

    private readonly int _descriptor;
    private readonly byte[] _name;

    /// <summary>Starts watching for reads of <paramref name="name"/> in <paramref name="directory"/>; a read before this is not seen.</summary>
    public FileReadWatch(string directory, string name)
    {
        _name = Encoding.UTF8.GetBytes(name);

        // The user's inotify instances are few (128 by default) and shared with every test and process: when they are
        // all taken, wait a bounded time for one to be freed.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((_descriptor = InotifyInit(NonBlocking | CloseOnExec)) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (TooManyOpen or TooManyOpenInSystem) || DateTime.UtcNow > deadline)
            {
                throw new IOException($"inotify_init1 failed (errno {errno}); errno {TooManyOpen} means the user's inotify instances (fs.inotify.max_user_instances) are all taken.");
            }

            Thread.Sleep(50);
        }

        if (InotifyAddWatch(_descriptor, directory, Access) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _ = Close(_descriptor);
            throw new IOException($"inotify_add_watch on '{directory}' failed (errno {errno}).");
        }
    }

    /// <summary>Waits until the file is read; <see langword="false"/> when it is not within <paramref name="timeout"/>.</summary>
    public bool WaitForRead(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var buffer = new byte[4096];
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            var poll = new PollDescriptor { Descriptor = _descriptor, Events = PollIn };
            if (Poll(ref poll, 1, (int)Math.Ceiling(remaining.TotalMilliseconds)) <= 0)
            {
                continue;
            }

            var read = (int)Read(_descriptor, buffer, buffer.Length);
            for (var at = 0; at + HeaderBytes <= read;)
            {
                var mask = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 4));
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 12));
                var name = buffer.AsSpan(at + HeaderBytes, length).TrimEnd((byte)0);
                if ((mask & Access) != 0 && name.SequenceEqual(_name))
                {
                    return true;
                }

                at += HeaderBytes + length;
            }
        }
    }

    public void Dispose() => _ = Close(_descriptor);

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static partial int InotifyInit(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int InotifyAddWatch(int descriptor, string path, uint mask);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollDescriptor descriptors, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int descriptor, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollDescriptor
    {
        public int Descriptor;
        public short Events;
        public short ReturnedEvents;
    }
}
