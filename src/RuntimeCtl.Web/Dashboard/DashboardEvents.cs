using System.Text;
using Microsoft.AspNetCore.Http;

namespace RuntimeCtl.Cli.Dashboard;

/// <summary>
/// <c>GET /api/events</c>: server-sent events, woken by file notifications on the queue directory (with a one-second
/// poll as a fallback): <c>command</c>, <c>ack</c> and <c>metric</c> carry each new line as written; <c>state</c>
/// carries <c>/api/state</c> again when <c>controller.json</c> changed (at most twice a second).
/// </summary>
/// <remarks>
/// All streams share one file watcher (inotify instances are few: 128 per user by default); it is created with the
/// first stream and dropped with the last. At most <c>maxStreams</c> are open at once; one more gets 503.
/// </remarks>
internal sealed class DashboardEvents(string queueDirectory, DashboardApi api, int maxStreams)
{
    private static readonly TimeSpan Fallback = TimeSpan.FromSeconds(1);
    private readonly Lock _lock = new();
    private readonly List<SemaphoreSlim> _listeners = [];
    private FileSystemWatcher? _watcher;

    /// <summary>Gets the number of open streams.</summary>
    public int Streams
    {
        get
        {
            lock (_lock)
            {
                return _listeners.Count;
            }
        }
    }

    /// <summary>Gets whether the shared watcher exists (for tests).</summary>
    public bool Watching
    {
        get
        {
            lock (_lock)
            {
                return _watcher is not null;
            }
        }
    }
    private static readonly TimeSpan StateEvery = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public async Task Stream(HttpContext context)
    {
        var response = context.Response;
        using var changed = new SemaphoreSlim(0);
        if (!Subscribe(changed))
        {
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.Headers.RetryAfter = "10";
            await response.WriteAsync($"{{\"error\":\"{maxStreams} event streams are open already; close a dashboard tab.\"}}", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        try
        {
            await StreamTo(context, changed).ConfigureAwait(false);
        }
        finally
        {
            Unsubscribe(changed);
        }
    }

    /// <summary>Frames one line as an event: every line break of any kind (<c>\r\n</c>, <c>\r</c>, <c>\n</c>) starts another <c>data:</c> line, so no byte of a line can end the event or forge another.</summary>
    internal static void Append(StringBuilder text, string name, string line)
    {
        text.Append("event: ").Append(name).Append('\n');
        foreach (var part in line.Split(["\r\n", "\r", "\n"], StringSplitOptions.None))
        {
            text.Append("data: ").Append(part).Append('\n');
        }

        text.Append('\n');
    }

    private bool Subscribe(SemaphoreSlim changed)
    {
        lock (_lock)
        {
            if (_listeners.Count >= maxStreams)
            {
                return false;
            }

            _listeners.Add(changed);
            _watcher ??= QueueWatcher.TryWatch(queueDirectory, "*", Notify);
            return true;
        }
    }

    private void Unsubscribe(SemaphoreSlim changed)
    {
        lock (_lock)
        {
            _listeners.Remove(changed);
            if (_listeners.Count == 0)
            {
                _watcher?.Dispose();
                _watcher = null;
            }
        }
    }

    private void Notify()
    {
        lock (_lock)
        {
            foreach (var listener in _listeners)
            {
                if (listener.CurrentCount == 0)
                {
                    listener.Release();
                }
            }
        }
    }

    private async Task StreamTo(HttpContext context, SemaphoreSlim changed)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        var aborted = context.RequestAborted;
        var commands = LineFollower.FromEnd(Path.Combine(queueDirectory, QueueFiles.Commands));
        var acks = LineFollower.FromEnd(Path.Combine(queueDirectory, QueueFiles.Acks));
        var metrics = LineFollower.FromEnd(Path.Combine(queueDirectory, QueueFiles.Metrics));
        var controllerPath = Path.Combine(queueDirectory, QueueFiles.Controller);
        var controller = Stamp(controllerPath);
        var lastState = long.MinValue;
        var lastWrite = Environment.TickCount64;

        try
        {
            await Write(response, "retry: 2000\n: connected\n\n", aborted).ConfigureAwait(false);
            while (!aborted.IsCancellationRequested)
            {
                var text = new StringBuilder();
                Append(text, "command", commands.ReadAppended());
                Append(text, "ack", acks.ReadAppended());
                Append(text, "metric", metrics.ReadAppended());
                var now = Environment.TickCount64;
                if (now - lastState >= StateEvery.TotalMilliseconds && Stamp(controllerPath) is var stamp && stamp != controller)
                {
                    controller = stamp;
                    lastState = now;
                    text.Append("event: state\ndata: ").Append(Encoding.UTF8.GetString(api.StateJson())).Append("\n\n");
                }

                if (text.Length == 0 && now - lastWrite >= KeepAlive.TotalMilliseconds)
                {
                    text.Append(": ping\n\n");
                }

                if (text.Length > 0)
                {
                    lastWrite = now;
                    await Write(response, text.ToString(), aborted).ConfigureAwait(false);
                }

                await changed.WaitAsync(Fallback, aborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The page went away, or the server stops.
        }
        catch (IOException)
        {
        }
    }

    private static void Append(StringBuilder text, string name, IReadOnlyList<string> lines)
    {
        foreach (var line in lines)
        {
            Append(text, name, line);
        }
    }

    private static (long, DateTime) Stamp(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (-1, default);
        }
    }

    private static async Task Write(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
