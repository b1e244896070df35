namespace RuntimeCtl.Tests.Support;

/// <summary>A real size-limited <c>tmpfs</c> mounted for one test (root), unmounted at dispose; can be filled to the last byte.</summary>
public sealed class TmpfsMount : IDisposable
{
    private readonly string _filler;

    public TmpfsMount(string path, string size)
    {
        Path = path;
        Directory.CreateDirectory(path);
        ChildProcess.RunChecked("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", path);
        _filler = System.IO.Path.Combine(path, "filler");
    }

    public string Path { get; }

    /// <summary>Writes a file until the file system says it is full (with ever smaller writes, down to one byte).</summary>
    public void Fill()
    {
        using var stream = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
        foreach (var size in (int[])[1 << 16, 4096, 1])
        {
            var chunk = new byte[size];
            try
            {
                while (true)
                {
                    stream.Write(chunk);
                }
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Removes what <see cref="Fill"/> wrote.</summary>
    public void Free() => File.Delete(_filler);

    public void Dispose()
    {
        ChildProcess.RunChecked("umount", "-l", Path);
    }
}
