using Microsoft.Win32.SafeHandles;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// Appends ready-made lines to <c>commands.jsonl</c> with one <c>pwrite</c> per block, through a handle kept open: a
/// sender as cheap as a sender can be, so that a benchmark of "queue N, then poll" is dominated by the poll.
/// </summary>
public sealed class Appender : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly byte[] _buffer;
    private readonly CommandLines _lines;
    private readonly int _count;
    private long _end;

    public Appender(string commandsPath, CommandLines lines, int linesPerAppend)
    {
        _handle = File.OpenHandle(commandsPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        _end = RandomAccess.GetLength(_handle);
        _lines = lines;
        _count = linesPerAppend;
        _buffer = new byte[lines.LineLength * linesPerAppend];
    }

    public void Append()
    {
        var length = _lines.Fill(_buffer, _count);
        RandomAccess.Write(_handle, _buffer.AsSpan(0, length), _end);
        _end += length;
    }

    public void Dispose() => _handle.Dispose();
}
