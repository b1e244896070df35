using System.Buffers;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// Appends reported scalars to <c>metrics.jsonl</c> (an extension file of the queue directory), one
/// <c>{"step","ts","name","value"}</c> line each. Lines are buffered in memory and written in one append when
/// <see cref="MaxBufferedLines"/> are waiting or <see cref="FlushInterval"/> has passed, so most reports do no I/O.
/// </summary>
/// <remarks>
/// The file is rotated, not pruned: once it holds <see cref="RotateBytes"/>, it becomes <c>metrics.1.jsonl</c>
/// (replacing the previous one) and a new file starts, so a run never keeps more than about twice that on disk and
/// readers see the most recent history. Thread-safe: the process-exit flush may run beside the training thread.
/// </remarks>
// The Utf8JsonWriter over an in-memory buffer holds nothing to release; it lives as long as the controller.
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Utf8JsonWriter over an ArrayBufferWriter owns no unmanaged resource.")]
internal sealed class MetricsWriter
{
    /// <summary>The file's name in the queue directory.</summary>
    public const string FileName = QueueFiles.Metrics;

    /// <summary>The previous file, after a rotation.</summary>
    public const string RotatedFileName = "metrics.1.jsonl";

    /// <summary>How many lines are buffered before a write.</summary>
    public const int MaxBufferedLines = 512;

    /// <summary>The size at which the file is rotated: 32 MB, about 500 000 points.</summary>
    public const long DefaultRotateBytes = 32L * 1024 * 1024;

    /// <summary>The longest time a reported point waits in memory while reports keep coming.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    private readonly string _path;
    private readonly string _rotatedPath;
    private readonly QueueDirectory? _queue;
    private readonly TimeProvider _time;
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly Utf8JsonWriter _json;
    private readonly Lock _lock = new();
    private int _lines;
    private long _lastFlush;
    private long _length = -1;

    /// <summary>Writes into the trainer's opened queue directory (files opened relative to it, never through a symlink).</summary>
    public MetricsWriter(QueueDirectory queue, TimeProvider time, long rotateBytes = DefaultRotateBytes)
        : this(queue.Path, time, rotateBytes) => _queue = queue;

    public MetricsWriter(string queueDirectory, TimeProvider time, long rotateBytes = DefaultRotateBytes)
    {
        _path = Path.Combine(queueDirectory, FileName);
        _rotatedPath = Path.Combine(queueDirectory, RotatedFileName);
        _time = time;
        RotateBytes = rotateBytes;
        _json = new Utf8JsonWriter(_buffer, JsonFormat.WriterOptions);
        _lastFlush = time.GetTimestamp();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Flush();
    }

    /// <summary>Gets the size at which the file is rotated.</summary>
    public long RotateBytes { get; }

    /// <summary>Gets how many points were skipped because their value was NaN or infinite.</summary>
    public long SkippedNonFinite { get; private set; }

    /// <summary>Buffers one point; writes the buffer when it is full or old enough.</summary>
    public void Add(long step, string name, double value)
    {
        if (!double.IsFinite(value))
        {
            // JSON has no NaN: a diverged loss is left out rather than written as a line readers must special-case.
            SkippedNonFinite++;
            return;
        }

        lock (_lock)
        {
            _json.Reset();
            _json.WriteStartObject();
            _json.WriteNumber("step"u8, step);
            _json.WritePropertyName("ts"u8);
            JsonFormat.WriteTimestamp(_json, _time.GetUtcNow());
            _json.WriteString("name"u8, name);
            _json.WriteNumber("value"u8, value);
            _json.WriteEndObject();
            _json.Flush();
            _buffer.Write("\n"u8);
            _lines++;
            if (_lines >= MaxBufferedLines || _time.GetElapsedTime(_lastFlush) >= FlushInterval)
            {
                FlushLocked();
            }
        }
    }

    /// <summary>Writes whatever is buffered.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    private void FlushLocked()
    {
        _lastFlush = _time.GetTimestamp();
        if (_buffer.WrittenCount == 0)
        {
            return;
        }

        try
        {
            if (_length < 0)
            {
                _length = _queue is not null
                    ? (_queue.TryStat(FileName, out var status) ? status.Size : 0)
                    : (File.Exists(_path) ? new FileInfo(_path).Length : 0);
            }

            if (_length > 0 && _length + _buffer.WrittenCount > RotateBytes)
            {
                if (_queue is not null)
                {
                    _queue.Rename(FileName, RotatedFileName);
                }
                else
                {
                    File.Move(_path, _rotatedPath, overwrite: true);
                }

                _length = 0;
            }

            // Opened without following a symlink and without blocking (a FIFO planted there is refused).
            using (var stream = _queue is not null
                ? _queue.OpenFile(FileName, FileMode.Append, FileAccess.Write)
                : NativeFile.IsSupported
                    ? NativeFile.Stream(NativeFile.OpenAppend(_path), FileAccess.Write)
                    : QueueDirectory.OpenOwnerOnly(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
                stream.Write(_buffer.WrittenSpan);
                _length = stream.Length;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Metrics are best effort: a full disk must not stop the training loop. The points are dropped and the
            // length re-read at the next write.
            _length = -1;
        }
        finally
        {
            _buffer.Clear();
            _lines = 0;
        }
    }
}
