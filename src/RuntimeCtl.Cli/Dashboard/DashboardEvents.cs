using System.Text;
using Microsoft.AspNetCore.Http;

namespace RuntimeCtl.Cli.Dashboard;

/// <summary>
/// <c>GET /api/events</c>: server-sent events, woken by file notifications on the queue directory (with a one-second
/// poll as a fallback): <c>command</c>, <c>ack</c> and <c>metric</c> carry each new line as written; <c>state</c>
/// carries <c>/api/state</c> again when <c>controller.json</c> changed (at most twice a second).
/// </summary>
internal sealed class DashboardEvents(QueueDirectory queue, DashboardApi api)
{
    private static readonly TimeSpan Fallback = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StateEvery = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public async Task Stream(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        var aborted = context.RequestAborted;

        using var changed = new SemaphoreSlim(0);
        using var watcher = QueueWatcher.TryWatch(queue.Path, "*", () =>
        {
            if (changed.CurrentCount == 0)
            {
                changed.Release();
            }
        });
        var commands = LineFollower.FromEnd(queue.Commands);
        var acks = LineFollower.FromEnd(queue.Acks);
        var metrics = LineFollower.FromEnd(Path.Combine(queue.Path, MetricsWriter.FileName));
        var controller = Stamp(queue.Controller);
        var lastState = long.MinValue;
        var lastWrite = Environment.TickCount64;

        try
        {
            await Write(response, "retry: 2000\n: connected\n\n", aborted).ConfigureAwait(false);
            while (!aborted.IsCancellationRequested)
            {
                var text = new StringBuilder();
                Append(text, "command", commands.ReadNew());
                Append(text, "ack", acks.ReadNew());
                Append(text, "metric", metrics.ReadNew());
                var now = Environment.TickCount64;
                if (now - lastState >= StateEvery.TotalMilliseconds && Stamp(queue.Controller) is var stamp && stamp != controller)
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
            // A queue line is JSON on one line: it cannot break the event framing.
            text.Append("event: ").Append(name).Append("\ndata: ").Append(line).Append("\n\n");
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
