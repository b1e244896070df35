using BenchmarkDotNet.Attributes;
using Microsoft.Win32.SafeHandles;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// What the primitives the hot and due paths are built from cost on this machine: clocks, one <c>fstat</c>, one
/// <c>stat</c>, and the atomic replace of a small file (create, write, close, rename) that saves the cursor.
/// </summary>
[MemoryDiagnoser]
public class PrimitiveBenchmarks : IDisposable
{
    private TempQueueDirectory? _directory;
    private SafeFileHandle? _handle;
    private string _file = string.Empty;
    private string _temp = string.Empty;
    private byte[] _cursor = [];
    private volatile bool _flag;

    [GlobalSetup]
    public void Setup()
    {
        _directory = new TempQueueDirectory("primitives");
        _file = Path.Combine(_directory.Path, "cursor.json");
        _temp = _file + ".tmp";
        _cursor = """{"format":1,"offset":123456,"lines":1234,"acks_offset":234567,"last_line_start":123300,"last_line_length":155,"last_line_hash":"0123456789abcdef"}"""u8.ToArray();
        File.WriteAllBytes(_file, _cursor);
        _handle = File.OpenHandle(_file, FileMode.Open, FileAccess.ReadWrite);
        _flag = false;
    }

    [Benchmark]
    public long TickCount64() => Environment.TickCount64;

    [Benchmark]
    public long Stopwatch_GetTimestamp() => System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>A flag an inotify thread would set: what a due poll could cost with change notification.</summary>
    [Benchmark]
    public bool VolatileFlag_Read() => _flag;

    /// <summary>One <c>fstat</c>: <c>RandomAccess.GetLength</c>, the due poll's "anything new?" check today.</summary>
    [Benchmark]
    public long Fstat_GetLength() => RandomAccess.GetLength(_handle!);

    /// <summary>One <c>stat</c> by path: <c>File.Exists</c>, which <c>AckWriter.Open</c> runs on every flush.</summary>
    [Benchmark]
    public bool Stat_FileExists() => File.Exists(_file);

    /// <summary>The cursor save of <c>QueueState.Save</c>: create a temp file, write, close, rename over the old one.</summary>
    [Benchmark]
    public void ReplaceSmallFile_ByRename()
    {
        using (var stream = new FileStream(_temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0 }))
        {
            stream.Write(_cursor);
        }

        File.Move(_temp, _file, overwrite: true);
    }

    /// <summary>The alternative: overwrite the cursor in place through a handle kept open (one <c>pwrite</c>).</summary>
    [Benchmark]
    public void OverwriteSmallFile_InPlace() => RandomAccess.Write(_handle!, _cursor, 0);

    [GlobalCleanup]
    public void Dispose()
    {
        _handle?.Dispose();
        _directory?.Dispose();
        _handle = null;
        _directory = null;
        GC.SuppressFinalize(this);
    }
}
