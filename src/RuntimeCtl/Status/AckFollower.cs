using System.Text;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>An ack found by <see cref="AckFollower"/>.</summary>
/// <param name="Line">The ack line as written, without the blank around it (<see cref="LineText"/>).</param>
/// <param name="Status">Its <c>status</c> field (<c>applied</c>, <c>rejected</c>, <c>failed</c>), or <see langword="null"/> when it has none.</param>
public sealed record FoundAck(string Line, string? Status);

/// <summary>
/// Reads <c>acks.jsonl</c> incrementally, from an offset on, looking for the ack of one command: its lines as a
/// <see cref="LineFollower"/> reads them, so only complete lines, and a file replaced by a restarted trainer is
/// followed too.
/// </summary>
public sealed class AckFollower
{
    private readonly LineFollower _lines;
    private readonly string _path;
    private readonly string[] _ids;
    private readonly byte[][] _idJson;

    /// <summary>Follows <paramref name="path"/> from <paramref name="offset"/> (its length before the command was sent) for the ack of <paramref name="id"/>.</summary>
    /// <param name="path">The acks file.</param>
    /// <param name="id">The command's id.</param>
    /// <param name="offset">Where to start looking.</param>
    /// <param name="alternateIds">Other ids the trainer may ack the same line under (generated for a line it cannot read).</param>
    public AckFollower(string path, string id, long offset, IReadOnlyList<string>? alternateIds = null)
    {
        _path = path;
        _lines = new LineFollower(path, offset);
        _ids = [id, .. alternateIds ?? []];
        _idJson = [.. _ids.Select(i => JsonEncodedText.Encode(i, JsonFormat.WriterOptions.Encoder).EncodedUtf8Bytes.ToArray())];
    }

    /// <summary>Gets the offset up to which every complete line has been looked at.</summary>
    internal long Offset => _lines.Offset;

    /// <summary>Looks at the lines written since the last look; returns the command's ack once it is there.</summary>
    internal FoundAck? Poll()
    {
        FoundAck? found = null;
        _lines.Read(line => (found = Match(line)) is not null);
        return found;
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
    /// <c>acks.jsonl</c> changes, with a <see cref="QueueWatcher.FallbackPoll"/> look where no events come.
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
                await changed.WaitAsync(remaining < QueueWatcher.FallbackPoll ? remaining : QueueWatcher.FallbackPoll, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }
}
