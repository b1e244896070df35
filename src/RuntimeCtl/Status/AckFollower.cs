using System.Buffers;
using System.Text;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>An ack found by <see cref="AckFollower"/>.</summary>
/// <param name="Line">The ack line as written (without its newline).</param>
/// <param name="Status">Its <c>status</c> field (<c>applied</c>, <c>rejected</c>, <c>failed</c>), or <see langword="null"/> when it has none.</param>
internal sealed record FoundAck(string Line, string? Status);

/// <summary>
/// Reads <c>acks.jsonl</c> incrementally, from an offset on, looking for the ack of one command. Only complete lines
/// are read; the file is reopened at each look, so a file replaced by a restarted trainer is followed too.
/// </summary>
internal sealed class AckFollower
{
    private const int BlockSize = 64 * 1024;

    private readonly string _path;
    private readonly string[] _ids;
    private readonly byte[][] _idJson;
    private long _offset;

    /// <summary>Follows <paramref name="path"/> from <paramref name="offset"/> (its length before the command was sent) for the ack of <paramref name="id"/>.</summary>
    /// <param name="path">The acks file.</param>
    /// <param name="id">The command's id.</param>
    /// <param name="offset">Where to start looking.</param>
    /// <param name="alternateIds">Other ids the trainer may ack the same line under (generated for a line it cannot read).</param>
    public AckFollower(string path, string id, long offset, IReadOnlyList<string>? alternateIds = null)
    {
        _path = path;
        _ids = [id, .. alternateIds ?? []];
        _offset = offset;
        _idJson = [.. _ids.Select(i => JsonEncodedText.Encode(i, JsonFormat.WriterOptions.Encoder).EncodedUtf8Bytes.ToArray())];
    }

    /// <summary>How often a wait looks when no file event came: a fallback (NFS sends none), so slow.</summary>
    public static readonly TimeSpan FallbackPoll = TimeSpan.FromMilliseconds(400);

    /// <summary>Gets the offset up to which every complete line has been looked at.</summary>
    public long Offset => _offset;

    /// <summary>Gets the length of <paramref name="path"/>, or 0 when it is missing.</summary>
    public static long LengthOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.Length : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Looks at the lines written since the last look; returns the command's ack once it is there.</summary>
    public FoundAck? Poll()
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = NativeFile.OpenRead(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        using (handle)
        {
            var length = RandomAccess.GetLength(handle);
            if (length < _offset)
            {
                // Truncated or replaced: the ack, if any, is somewhere in the new file.
                _offset = 0;
            }

            var block = ArrayPool<byte>.Shared.Rent(BlockSize);
            var carry = new ArrayBufferWriter<byte>();
            var skipping = false;
            try
            {
                var position = _offset;
                while (position < length)
                {
                    var read = RandomAccess.Read(handle, block.AsSpan(0, (int)Math.Min(BlockSize, length - position)), position);
                    if (read == 0)
                    {
                        break;
                    }

                    var data = block.AsSpan(0, read);
                    var dataStart = position;
                    position += read;
                    int newline;
                    while ((newline = data.IndexOf((byte)'\n')) >= 0)
                    {
                        FoundAck? found;
                        if (skipping)
                        {
                            // The end of a line too long to be an ack.
                            found = null;
                            skipping = false;
                        }
                        else if (carry.WrittenCount > 0)
                        {
                            carry.Write(data[..newline]);
                            found = Match(carry.WrittenSpan);
                            carry.Clear();
                        }
                        else
                        {
                            found = Match(data[..newline]);
                        }

                        dataStart += newline + 1;
                        _offset = dataStart;
                        if (found is not null)
                        {
                            return found;
                        }

                        data = data[(newline + 1)..];
                    }

                    if (skipping || carry.WrittenCount + data.Length > AckTail.MaxLineBytes)
                    {
                        skipping = true;
                        carry.Clear();
                    }
                    else
                    {
                        carry.Write(data);
                    }
                }

                return null;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(block);
            }
        }
    }

    private FoundAck? Match(ReadOnlySpan<byte> line)
    {
        var candidate = false;
        foreach (var idJson in _idJson)
        {
            candidate |= line.IndexOf(idJson) >= 0;
        }

        if (!candidate)
        {
            return null;
        }

        line = line.Trim(" \t\r\v\f"u8);
        try
        {
            using var document = JsonDocument.Parse(line.ToArray(), JsonFormat.DocumentOptions);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("id"u8, out var id)
                || id.ValueKind != JsonValueKind.String
                || !_ids.Any(id.ValueEquals))
            {
                return null;
            }

            var status = root.TryGetProperty("status"u8, out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            return new FoundAck(Encoding.UTF8.GetString(line), status);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the command's ack without spinning: woken by inotify when
    /// <c>acks.jsonl</c> changes, with a <see cref="FallbackPoll"/> look where no events come.
    /// </summary>
    /// <returns>The ack, or <see langword="null"/> when none came in time or the wait was cancelled.</returns>
    public async Task<FoundAck?> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var changed = new SemaphoreSlim(0);
        using var watcher = QueueWatcher.TryWatch(Path.GetDirectoryName(Path.GetFullPath(_path))!, Path.GetFileName(_path), () =>
        {
            if (changed.CurrentCount == 0)
            {
                changed.Release();
            }
        });
        var started = time.GetTimestamp();
        while (true)
        {
            // Looked at after the watcher started: an ack written before it is found here, one after it wakes us.
            if (Poll() is { } ack)
            {
                return ack;
            }

            var remaining = timeout - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero || cancellationToken.IsCancellationRequested)
            {
                return null;
            }

            try
            {
                await changed.WaitAsync(remaining < FallbackPoll ? remaining : FallbackPoll, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }
}
