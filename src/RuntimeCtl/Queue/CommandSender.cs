using System.Buffers;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// Sends commands to a queue directory: the one sender of the project (the <c>runtimectl</c> CLI, the dashboard and the
/// MCP server send through it too), so the same bytes, the same checks, the same lock and repair everywhere.
/// </summary>
public static class CommandSender
{
    /// <summary>
    /// Appends one command to <c>commands.jsonl</c> in <paramref name="queueDirectory"/> (creating the directory 0700
    /// and the file 0600 if absent) and returns what was written.
    /// </summary>
    /// <param name="queueDirectory">The job's queue directory.</param>
    /// <param name="path">The control's path, e.g. <c>optimizer.lr.multiplier</c>.</param>
    /// <param name="args">The positional arguments: <see langword="null"/>, bools, numbers, strings, <see cref="JsonElement"/>s, or lists and string-keyed dictionaries of those.</param>
    /// <param name="kwargs">The keyword arguments, or <see langword="null"/> for none.</param>
    /// <param name="atStep">Hold the command until the trainer's first poll at or after this step (an extension).</param>
    /// <param name="allowSharedQueue">Accept a group-writable queue directory.</param>
    /// <returns>The command as written, with its id and where its ack will be.</returns>
    /// <exception cref="QueueConfigurationException">The queue directory is unsafe or cannot be written.</exception>
    /// <exception cref="CommandRefusedException">The trainer would reject the line as it is; nothing was written.</exception>
    /// <exception cref="ArgumentException">A value cannot be written as JSON (an unsupported type, NaN or infinity).</exception>
    /// <remarks>As <see cref="Enqueue(string, string, IEnumerable{object?}?, IEnumerable{KeyValuePair{string, object?}}?, EnqueueOptions)"/> with those options.</remarks>
    public static SentCommand Enqueue(string queueDirectory, string path, IEnumerable<object?>? args = null, IEnumerable<KeyValuePair<string, object?>>? kwargs = null, long? atStep = null, bool allowSharedQueue = false) =>
        Enqueue(queueDirectory, path, args, kwargs, new EnqueueOptions { AtStep = atStep, AllowSharedQueue = allowSharedQueue });

    /// <summary>
    /// Checks one command as the trainer would, then appends it to <c>commands.jsonl</c> in
    /// <paramref name="queueDirectory"/> (creating the directory 0700 and the file 0600 if absent) and returns what was
    /// written.
    /// </summary>
    /// <param name="queueDirectory">The job's queue directory.</param>
    /// <param name="path">The control's path, e.g. <c>optimizer.lr.multiplier</c>.</param>
    /// <param name="args">The positional arguments: <see langword="null"/>, bools, numbers, strings, <see cref="JsonElement"/>s, or lists and string-keyed dictionaries of those.</param>
    /// <param name="kwargs">The keyword arguments, or <see langword="null"/> for none.</param>
    /// <param name="options">How to send it.</param>
    /// <returns>The command as written, with its id and where its ack will be.</returns>
    /// <exception cref="QueueConfigurationException">The queue directory is unsafe or cannot be written.</exception>
    /// <exception cref="CommandRefusedException">The trainer would reject the line as it is (a number that overflows, a duplicate key, a line over the limit its <c>controller.json</c> gives); nothing was written.</exception>
    /// <exception cref="ArgumentException">A value cannot be written as JSON (an unsupported type, NaN or infinity).</exception>
    /// <remarks>
    /// Senders serialise their appends with an advisory lock on <c>commands.lock</c>. If the file does not end with a
    /// newline (a sender died mid-write), a newline is written first so the torn line is rejected alone.
    /// Thread-safe, and safe across processes.
    /// </remarks>
    public static SentCommand Enqueue(string queueDirectory, string path, IEnumerable<object?>? args, IEnumerable<KeyValuePair<string, object?>>? kwargs, EnqueueOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queueDirectory);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        var id = Guid.NewGuid().ToString("D");
        var extra = new List<KeyValuePair<string, string>>(2);
        if (options.Source is { } source)
        {
            extra.Add(new("source", source));
        }

        if (options.ReplayOf is { } replayOf)
        {
            extra.Add(new("replay_of", replayOf));
        }

        var line = Serialize(id, options.TimeProvider.GetUtcNow(), path, args, kwargs, options.AtStep, extra);
        var body = line.AsMemory(0, line.Length - 1);

        // The trainer's own checks, before anything is queued: what it would reject is refused here.
        using (var parsed = CommandLine.Parse(0, body))
        {
            if ((parsed.Invalid ?? parsed.Refusal) is { } problem)
            {
                throw new CommandRefusedException($"the trainer would reject this command ({problem}). Nothing was sent.");
            }
        }

        var files = Path.GetFullPath(queueDirectory);
        var limit = ControllerSnapshot.TryRead(Path.Combine(files, QueueDirectory.ControllerFile), out _)?.MaxLineBytes;
        if (limit is { } max && body.Length > max)
        {
            throw new CommandRefusedException($"the command is {body.Length} bytes long, over the trainer's limit of {max} bytes per line (RuntimeControllerOptions.MaxLineBytes). Nothing was sent.");
        }

        // The ack comes after the command: whatever acks.jsonl holds now is older.
        var ackOffset = LineFollower.LengthOf(Path.Combine(files, QueueDirectory.AcksFile));
        var text = System.Text.Encoding.UTF8.GetString(body.Span);
        if (options.DryRun)
        {
            return new SentCommand(id, text, ackOffset, []);
        }

        var offset = Append(queueDirectory, line, options.AllowSharedQueue);
        string[] alternates =
        [
            CommandLine.DerivedId(offset, body.Span),
            CommandLine.Oversize(offset, offset + line.Length, (int)Math.Min(limit ?? int.MaxValue, int.MaxValue)).Id,
        ];
        return new SentCommand(id, text, ackOffset, alternates);
    }

    internal static byte[] Serialize(string id, DateTimeOffset timestamp, string path, IEnumerable<object?>? args, IEnumerable<KeyValuePair<string, object?>>? kwargs, long? atStep, IEnumerable<KeyValuePair<string, string>>? extra = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, JsonFormat.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WritePropertyName("ts"u8);
            JsonFormat.WriteTimestamp(writer, timestamp);
            writer.WriteString("op"u8, "set");
            writer.WriteString("path"u8, path);
            writer.WritePropertyName("args"u8);
            writer.WriteStartArray();
            foreach (var arg in args ?? [])
            {
                JsonValues.Write(writer, arg);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("kwargs"u8);
            writer.WriteStartObject();
            foreach (var (key, value) in kwargs ?? [])
            {
                writer.WritePropertyName(key);
                JsonValues.Write(writer, value);
            }

            writer.WriteEndObject();
            if (atStep is { } step)
            {
                writer.WriteNumber("at_step"u8, step);
            }

            // Fields every trainer ignores, saying where a command came from (docs/queue-format.md, "Fields that say where a command came from": replay_of, source).
            foreach (var (name, value) in extra ?? [])
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>How long a torn last line must stay unchanged before a sender takes it for a dead writer's and ends it.</summary>
    internal static readonly TimeSpan TornTailGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Appends a complete line (ending in <c>\n</c>) under the senders' lock, repairing a torn last line first. On Linux
    /// the file is opened with <c>O_APPEND</c> and the line goes out in one <c>write(2)</c>, so a writer that does not
    /// take the lock can never be overwritten.
    /// </summary>
    /// <returns>The offset of the line in <c>commands.jsonl</c> (where the trainer reads it).</returns>
    internal static long Append(string queueDirectory, ReadOnlySpan<byte> line, bool allowSharedQueue)
    {
        using var queue = new QueueDirectory(queueDirectory);
        try
        {
            queue.CheckForSender(allowSharedQueue);
            if (!NativeFile.IsSupported)
            {
                using var lockFile = AcquireLock(queue.Lock);
                return AppendPortable(queue.Commands, line);
            }

            using var lockHandle = AcquireLock(queue);
            return AppendNative(queue, line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QueueConfigurationException(queue.Path, $"Cannot append to '{queue.Commands}': {e.Message} Check that the queue directory exists, that this user may write it and that its file system has space.", e);
        }
    }

    private static long AppendNative(QueueDirectory queue, ReadOnlySpan<byte> line)
    {
        using var handle = queue.OpenAppend(QueueDirectory.CommandsFile);
        if (!EndsTorn(handle))
        {
            return NativeFile.AppendOnce(handle, line);
        }

        // One write for the repair and the line, so a reader never sees the repair alone.
        var joined = new byte[line.Length + 1];
        joined[0] = (byte)'\n';
        line.CopyTo(joined.AsSpan(1));
        return NativeFile.AppendOnce(handle, joined) + 1;
    }

    /// <summary>
    /// Whether the file ends in a line that its writer abandoned: one without <c>\n</c> that stays unchanged for
    /// <see cref="TornTailGrace"/>. A writer that does not take our lock may be writing a line in several writes; its
    /// line is left to finish instead of being cut in two.
    /// </summary>
    private static bool EndsTorn(SafeAppendHandle handle)
    {
        Span<byte> last = stackalloc byte[1];
        var size = NativeFile.Size(handle);
        var since = Environment.TickCount64;
        while (true)
        {
            if (size <= 0 || NativeFile.ReadAt(handle, last, size - 1) != 1 || last[0] == (byte)'\n')
            {
                return false;
            }

            if (Environment.TickCount64 - since >= (long)TornTailGrace.TotalMilliseconds)
            {
                return true;
            }

#pragma warning disable RS0030 // a sender process waiting for another writer's line, never the training thread
            Thread.Sleep(10);
#pragma warning restore RS0030
            var now = NativeFile.Size(handle);
            if (now != size)
            {
                size = now;
                since = Environment.TickCount64; // still growing: its writer is alive
            }
        }
    }

    private static long AppendPortable(string path, ReadOnlySpan<byte> line)
    {
        using var stream = QueueDirectory.OpenOwnerOnly(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        var length = stream.Length;
        var repair = false;
        if (length > 0)
        {
            stream.Position = length - 1;
            repair = stream.ReadByte() != '\n';
        }

        stream.Position = length;
        if (repair)
        {
            var joined = new byte[line.Length + 1];
            joined[0] = (byte)'\n';
            line.CopyTo(joined.AsSpan(1));
            stream.Write(joined);
        }
        else
        {
            stream.Write(line);
        }

        stream.Flush();
        return repair ? length + 1 : length;
    }

    /// <summary>Takes the senders' exclusive <c>flock</c> on <c>commands.lock</c>, opened in the queue's directory without following a symlink.</summary>
    private static SafeAppendHandle AcquireLock(QueueDirectory queue)
    {
        var handle = queue.OpenAppend(QueueDirectory.LockFile);
        if (!WaitFor(() => NativeFile.TryLock(handle)))
        {
            handle.Dispose();
            throw new IOException($"Another sender has held '{queue.Lock}' for 30 s.");
        }

        return handle;
    }

    /// <summary>Takes the senders' exclusive lock where files are opened by path (an exclusive open is an advisory <c>flock</c> on Unix).</summary>
    private static FileStream AcquireLock(string path)
    {
        FileStream? stream = null;
        if (!WaitFor(() =>
        {
            try
            {
                stream = QueueDirectory.OpenOwnerOnly(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                return false; // held by another sender
            }
        }))
        {
            throw new IOException($"Another sender has held '{path}' for 30 s.");
        }

        return stream!;
    }

    /// <summary>Retries <paramref name="tryTake"/> with a growing pause (1 to 20 ms) for up to 30 s; false when it never succeeded.</summary>
    private static bool WaitFor(Func<bool> tryTake)
    {
        var delay = 1;
        var deadline = Environment.TickCount64 + 30_000;
        while (!tryTake())
        {
            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

#pragma warning disable RS0030 // a sender process waiting for another sender's lock, never the training thread
            Thread.Sleep(delay);
#pragma warning restore RS0030
            delay = Math.Min(delay * 2, 20);
        }

        return true;
    }
}
