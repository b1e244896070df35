using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RuntimeCtl.Cli.Dashboard;

/// <summary>
/// The dashboard's page and JSON API over one queue directory. Responses are written with <see cref="Utf8JsonWriter"/>
/// and request bodies read with <see cref="JsonDocument"/>: no reflection, so the server runs under Native AOT.
/// </summary>
/// <remarks>
/// Security: every request needs the token. A GET may carry it as <c>?token=</c> (the printed URL, and
/// <c>EventSource</c>, which cannot set headers) or as <c>Authorization: Bearer</c>; anything else (a POST) only in
/// the header, which another site cannot make a browser send, so a page elsewhere cannot drive the job. No CORS
/// headers are sent, so other origins cannot read the replies either.
/// </remarks>
internal sealed class DashboardApi
{
    /// <summary>The largest request body accepted: a command is far smaller.</summary>
    public const long MaxBodyBytes = 1024 * 1024;

    /// <summary>The most lines <c>?last=</c> may ask for.</summary>
    public const int MaxLast = 10_000;

    /// <summary>The longest <c>"source"</c> a posted command may carry.</summary>
    public const int MaxSourceLength = 32;

    /// <summary>The longest <c>?wait=</c>, in seconds.</summary>
    public const double MaxWaitSeconds = 600;

    private static readonly string[] BodyFields = ["path", "args", "kwargs", "at_step", "force", "source"];

    private readonly string _acks;
    private readonly string _commands;
    private readonly string _controller;
    private readonly string _queueDirectory;
    private readonly byte[] _token;
    private readonly bool _allowShared;
    private readonly TimeProvider _time;
    private readonly byte[] _page;

    /// <summary>The most event streams open at once; one more gets 503.</summary>
    public const int MaxStreams = 32;

    private readonly string _cookieName;
    private readonly HashSet<string> _hosts;
    private readonly DashboardEvents _events;

    /// <param name="queueDirectory">The queue directory served.</param>
    /// <param name="token">The access token.</param>
    /// <param name="allowShared">Whether commands may be sent to a group-writable queue directory.</param>
    /// <param name="time">The clock.</param>
    /// <param name="listen">The address and port the server listens on: the only ones a request's Host may name, with the loopback names.</param>
    public DashboardApi(string queueDirectory, string token, bool allowShared, TimeProvider time, System.Net.IPEndPoint listen)
    {
        _queueDirectory = queueDirectory;
        _acks = Path.Combine(queueDirectory, QueueFiles.Acks);
        _commands = Path.Combine(queueDirectory, QueueFiles.Commands);
        _controller = Path.Combine(queueDirectory, QueueFiles.Controller);
        _token = Encoding.UTF8.GetBytes(token);
        _allowShared = allowShared;
        _time = time;
        _page = Page(token);
        _cookieName = "runtimectl_" + listen.Port.ToString(System.Globalization.CultureInfo.InvariantCulture); // cookies are per host, not per port
        var port = ":" + listen.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var address = listen.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{listen.Address}]" : listen.Address.ToString();
        _hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { address + port };
        if (System.Net.IPAddress.IsLoopback(listen.Address))
        {
            _hosts.UnionWith(["localhost" + port, "127.0.0.1" + port, "[::1]" + port]);
        }

        _events = new DashboardEvents(queueDirectory, this, MaxStreams);
    }

    /// <summary>Gets the event streams (for tests).</summary>
    internal DashboardEvents Events => _events;

    /// <summary>Maps the routes to the API that <paramref name="api"/> returns (known once the server listens); <see cref="Guard"/> runs first.</summary>
    public static void MapRoutes(WebApplication app, Func<DashboardApi> api)
    {
        app.MapGet("/", (RequestDelegate)(c => api().ServePage(c)));
        app.MapGet("/api/state", (RequestDelegate)(c => api().GetState(c)));
        app.MapGet("/api/acks", (RequestDelegate)(c => GetTail(c, api()._acks, "acks")));
        app.MapGet("/api/commands", (RequestDelegate)(c => GetTail(c, api()._commands, "commands")));
        app.MapGet("/api/metrics", (RequestDelegate)(c => api().GetMetrics(c)));
        app.MapGet("/api/events", (RequestDelegate)(c => api()._events.Stream(c)));
        app.MapPost("/api/commands", (RequestDelegate)(c => api().PostCommand(c)));
        app.MapGet("/api/status", (RequestDelegate)(c => api().GetStatus(c)));
        app.MapGet("/api/history", (RequestDelegate)(c => api().GetHistory(c)));
        app.MapGet("/api/ack", (RequestDelegate)(c => api().GetAck(c)));
    }

    /// <summary>Refuses a foreign Host (421), requests without the token (401) and cross-origin changes (403); sets headers that keep the page to itself.</summary>
    public async Task Guard(HttpContext context, Func<Task> next)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";

        var request = context.Request;

        // DNS rebinding: a page of another site that resolves its name to 127.0.0.1 sends its own Host. Only ours pass.
        if (!_hosts.Contains(request.Host.Value ?? string.Empty))
        {
            await Error(context, StatusCodes.Status421MisdirectedRequest, $"this server answers to {string.Join(", ", _hosts.Order(StringComparer.Ordinal))} only, not to the host '{request.Host}'.").ConfigureAwait(false);
            return;
        }

        var readOnly = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        if (readOnly && request.Path == "/" && request.Query.TryGetValue("token", out var queryToken) && queryToken.Count == 1 && Matches(queryToken.ToString()))
        {
            // The printed URL's token is exchanged for a cookie and dropped from the address (and so from the history).
            context.Response.Cookies.Append(_cookieName, queryToken.ToString(), new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", IsEssential = true });
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            headers.Location = "/";
            return;
        }

        if (!HasToken(request, readOnly))
        {
            headers.WWWAuthenticate = "Bearer";
            var why = readOnly
                ? "this dashboard needs its access token: open the URL that 'runtimectl serve' printed (with ?token=), or send Authorization: Bearer TOKEN."
                : "changes need the access token in an Authorization: Bearer header; a token in the URL or in a cookie is not accepted for them.";
            await Error(context, StatusCodes.Status401Unauthorized, why).ConfigureAwait(false);
            return;
        }

        if (!readOnly && request.Headers.Origin is { Count: > 0 } origin
            && !string.Equals(origin.ToString(), $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase))
        {
            await Error(context, StatusCodes.Status403Forbidden, $"a request from the origin '{origin}' may not change this job.").ConfigureAwait(false);
            return;
        }

        await next().ConfigureAwait(false);
    }

    private bool HasToken(HttpRequest request, bool allowQuery)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && Matches(authorization.AsSpan(7).Trim()))
        {
            return true;
        }

        // Reads also accept the token in the URL (scripts) or the cookie (the page); changes need the header.
        return allowQuery
            && ((request.Query.TryGetValue("token", out var token) && token.Count == 1 && Matches(token.ToString()))
                || (request.Cookies.TryGetValue(_cookieName, out var cookie) && Matches(cookie)));
    }

    private bool Matches(ReadOnlySpan<char> candidate)
    {
        var bytes = Encoding.UTF8.GetBytes(candidate.ToArray());
        return CryptographicOperations.FixedTimeEquals(bytes, _token);
    }

    private Task ServePage(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        return context.Response.Body.WriteAsync(_page).AsTask();
    }

    private Task GetState(HttpContext context)
    {
        var bytes = StateJson();
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(bytes).AsTask();
    }

    /// <summary>The trainer's state: liveness, step and controls from <c>controller.json</c>, and the queue's line counts.</summary>
    internal byte[] StateJson()
    {
        QueueStatus? status = null;
        try
        {
            status = QueueStatus.Read(_queueDirectory, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        var now = _time.GetUtcNow();
        return Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("queue_dir"u8, _queueDirectory);
            writer.WritePropertyName("now"u8);
            JsonFormat.WriteTimestamp(writer, now);
            writer.WriteBoolean("exists"u8, Directory.Exists(_queueDirectory));
            writer.WriteNumber("commands"u8, status?.Commands.Lines ?? 0);
            writer.WriteNumber("acks"u8, status?.Acks.Lines ?? 0);
            writer.WriteNumber("pending"u8, status?.Pending ?? 0);
            TrainerReport.Write(writer, status?.Controller, now);
            writer.WriteString("trainer_text"u8, TrainerReport.Describe(status?.Controller, now));
            if (QueueFiles.ForeignOwnerWarning(_queueDirectory) is { } foreign)
            {
                writer.WriteString("warning"u8, foreign);
            }
            writer.WriteStartArray("controls"u8);
            foreach (var control in status?.Controller?.Controls ?? [])
            {
                control.Json.WriteTo(writer);
            }

            writer.WriteEndArray();
            if (status?.ControllerProblem is { } problem)
            {
                writer.WriteString("controller_problem"u8, problem);
            }

            writer.WriteEndObject();
        });
    }

    /// <summary>
    /// <c>GET /api/status?last=N</c>: what <c>runtimectl status</c> reads, at one moment (the remote CLI's status,
    /// controls and unknown-path check): line counts, the last acks, <c>controller.json</c> as the trainer wrote it,
    /// and the server's clock, by which the trainer's liveness is judged.
    /// </summary>
    private async Task GetStatus(HttpContext context)
    {
        if (!TryInt(context, "last", CliGrammar.DefaultLast, 0, MaxLast, out var last, out var error))
        {
            await Error(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            return;
        }

        QueueStatus status;
        try
        {
            status = QueueStatus.Read(_queueDirectory, last);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Error(context, StatusCodes.Status500InternalServerError, $"cannot read the queue directory '{_queueDirectory}': {e.Message}").ConfigureAwait(false);
            return;
        }

        await Reply(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("queue_dir"u8, _queueDirectory);
            writer.WriteBoolean("exists"u8, Directory.Exists(_queueDirectory));
            writer.WritePropertyName("now"u8);
            JsonFormat.WriteTimestamp(writer, _time.GetUtcNow());
            StatusCommand.WriteCounts(writer, status);
            writer.WriteNumber("bad_ack_lines"u8, status.Tail.BadLines);
            if (status.Tail.FirstProblem is { } bad)
            {
                writer.WriteString("bad_ack_problem"u8, bad);
            }

            writer.WritePropertyName("controller"u8);
            if (status.Controller is { } controller)
            {
                controller.Json.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }

            if (status.ControllerProblem is { } problem)
            {
                writer.WriteString("controller_problem"u8, problem);
            }

            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary><c>GET /api/history?status=S</c>: <c>runtimectl history</c>'s JSON lines, streamed.</summary>
    private async Task GetHistory(HttpContext context)
    {
        var wanted = context.Request.Query.TryGetValue("status", out var s) ? s.ToString() : null;
        if (wanted is not (null or "applied" or "rejected" or "failed" or "pending"))
        {
            await Error(context, StatusCodes.Status400BadRequest, $"status must be applied, rejected, failed or pending, got '{wanted}'.").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/x-ndjson";
        var output = new StreamWriter(context.Response.Body, new UTF8Encoding(false), 64 * 1024) { NewLine = "\n" };
        await using (output.ConfigureAwait(false))
        {
            foreach (var entry in CommandHistory.Read(_queueDirectory))
            {
                if (wanted is null || entry.Status == wanted)
                {
                    await output.WriteLineAsync(HistoryCommand.Json(entry).AsMemory(), context.RequestAborted).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// <c>GET /api/ack?id=ID&amp;offset=N[&amp;alt=ID...]&amp;wait=S</c>: the ack of one command, looked for after the
    /// offset the command's <c>POST</c> replied with, waiting up to S seconds; <c>{"ack": null}</c> when none came.
    /// </summary>
    private async Task GetAck(HttpContext context)
    {
        var query = context.Request.Query;
        if (!query.TryGetValue("id", out var id) || id.Count != 1 || string.IsNullOrEmpty(id.ToString())
            || !query.TryGetValue("offset", out var o) || !long.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            await Error(context, StatusCodes.Status400BadRequest, "give the command's id and the ack_offset its POST replied with: /api/ack?id=ID&offset=N&wait=S.").ConfigureAwait(false);
            return;
        }

        if (!TryWait(context, out var wait, out var error))
        {
            await Error(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            return;
        }

        var alternates = query.TryGetValue("alt", out var alt) ? alt.Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).ToArray() : [];
        var ack = await new AckFollower(_acks, id.ToString(), offset, alternates).WaitAsync(TimeSpan.FromSeconds(wait ?? 0), _time, context.RequestAborted).ConfigureAwait(false);
        await Reply(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName("ack"u8);
            JsonFormat.WriteRawOrNull(writer, ack?.Line);

            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static bool TryWait(HttpContext context, out double? wait, out string error)
    {
        wait = null;
        error = string.Empty;
        if (!context.Request.Query.TryGetValue("wait", out var w))
        {
            return true;
        }

        if (!double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds) || seconds is < 0 or > MaxWaitSeconds)
        {
            error = $"wait must be a number of seconds from 0 to {MaxWaitSeconds}, got '{w}'.";
            return false;
        }

        wait = seconds;
        return true;
    }

    private static async Task GetTail(HttpContext context, string path, string name)
    {
        if (!TryInt(context, "last", 50, 0, MaxLast, out var last, out var error))
        {
            await Error(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            return;
        }

        var tail = AckTail.Read(path, last);
        await Reply(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray(name);
            foreach (var line in tail.Acks)
            {
                line.WriteTo(writer);
            }

            writer.WriteEndArray();
            writer.WriteNumber("bad_lines"u8, tail.BadLines);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task GetMetrics(HttpContext context)
    {
        var query = context.Request.Query;
        var name = query.TryGetValue("name", out var n) && n.ToString() is { Length: > 0 } text ? text : null;
        long since = long.MinValue;
        if (query.TryGetValue("since_step", out var s) && !long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out since))
        {
            await Error(context, StatusCodes.Status400BadRequest, $"since_step must be a whole step number, got '{s}'.").ConfigureAwait(false);
            return;
        }

        if (!TryInt(context, "max_points", 2000, 2, 1_000_000, out var maxPoints, out var error))
        {
            await Error(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            return;
        }

        var series = MetricsReader.Read(_queueDirectory, name, since);
        await Reply(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("series"u8);
            foreach (var (metric, points) in series)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, metric);
                writer.WriteNumber("total"u8, points.Count);
                writer.WriteStartArray("points"u8);
                foreach (var point in MetricsReader.Downsample(points, maxPoints))
                {
                    writer.WriteStartArray();
                    writer.WriteNumberValue(point.Step);
                    writer.WriteNumberValue(point.Value);
                    writer.WriteNumberValue(point.Ts);
                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task PostCommand(HttpContext context)
    {
        if (context.Request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await Error(context, StatusCodes.Status415UnsupportedMediaType, "send the command as JSON (Content-Type: application/json): {\"path\":..., \"args\":[...], \"kwargs\":{...}, \"at_step\":N}.").ConfigureAwait(false);
            return;
        }

        if (!TryWait(context, out var wait, out var waitError))
        {
            await Error(context, StatusCodes.Status400BadRequest, waitError).ConfigureAwait(false);
            return;
        }

        CommandBody body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            body = CommandBody.Parse(buffer.ToArray());
        }
        catch (BadHttpRequestException e)
        {
            await Error(context, e.StatusCode, e.Message).ConfigureAwait(false);
            return;
        }
        catch (FormatException e)
        {
            await Error(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }

        var controller = ControllerSnapshot.TryRead(_controller, out _);
        if (!body.Force && controller?.UnknownPathRefusal(body.Path, _queueDirectory, _time.GetUtcNow(), "send \"force\": true to send it anyway") is { } refusal)
        {
            await Error(context, StatusCodes.Status400BadRequest, refusal).ConfigureAwait(false);
            return;
        }

        SentCommand sent;
        try
        {
            sent = CommandSender.Enqueue(_queueDirectory, body.Path, body.Args, body.Kwargs, new EnqueueOptions { AtStep = body.AtStep, AllowSharedQueue = _allowShared, Source = body.Source, TimeProvider = _time });
        }
        catch (CommandRefusedException e)
        {
            await Error(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }
        catch (QueueConfigurationException e)
        {
            await Error(context, StatusCodes.Status409Conflict, e.Message).ConfigureAwait(false);
            return;
        }

        FoundAck? ack = null;
        if (wait is { } seconds2)
        {
            ack = await new AckFollower(_acks, sent.Id, sent.AckOffset, sent.AlternateIds).WaitAsync(TimeSpan.FromSeconds(seconds2), _time, context.RequestAborted).ConfigureAwait(false);
        }

        await Reply(context, ack is null ? StatusCodes.Status202Accepted : StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName("command"u8);
            writer.WriteRawValue(sent.Line, skipInputValidation: true);

            // Where to look for its ack later (GET /api/ack): the length of acks.jsonl before it was queued.
            writer.WriteNumber("ack_offset"u8, sent.AckOffset);
            writer.WriteStartArray("alternate_ids"u8);
            foreach (var alternate in sent.AlternateIds)
            {
                writer.WriteStringValue(alternate);
            }

            writer.WriteEndArray();
            if (wait is not null)
            {
                writer.WritePropertyName("ack"u8);
                if (ack is null)
                {
                    writer.WriteNullValue();
                    writer.WriteString("note"u8, "no ack within the wait; the command stays queued and the trainer applies it when it next polls.");
                }
                else
                {
                    writer.WriteRawValue(ack.Line, skipInputValidation: true);
                }
            }

            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static bool TryInt(HttpContext context, string name, int fallback, int min, int max, out int value, out string error)
    {
        error = string.Empty;
        value = fallback;
        if (!context.Request.Query.TryGetValue(name, out var text))
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        error = $"{name} must be a whole number from {min} to {max}, got '{text}'.";
        return false;
    }

    internal static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonFormat.WriterOptions))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static Task Reply(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var bytes = Json(write);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(bytes).AsTask();
    }

    private static Task Error(HttpContext context, int status, string message) =>
        Reply(context, status, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("error"u8, message);
            writer.WriteEndObject();
        });

    private static byte[] Page(string token)
    {
        using var stream = typeof(DashboardApi).Assembly.GetManifestResourceStream("RuntimeCtl.Cli.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is missing from the assembly's resources.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Encoding.UTF8.GetBytes(reader.ReadToEnd().Replace("%%RUNTIMECTL_TOKEN%%", token, StringComparison.Ordinal)); // base64url: safe in an attribute
    }

    /// <summary>The body of <c>POST /api/commands</c>, checked.</summary>
    private sealed record CommandBody(string Path, IReadOnlyList<object?> Args, IReadOnlyList<KeyValuePair<string, object?>> Kwargs, long? AtStep, bool Force, string? Source)
    {
        /// <exception cref="FormatException">The body is not a valid command; the message says why.</exception>
        public static CommandBody Parse(byte[] bytes)
        {
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(bytes, JsonFormat.DocumentOptions);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new FormatException("the body is not valid JSON: " + e.Message, e);
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("the body must be a JSON object: {\"path\":..., \"args\":[...], \"kwargs\":{...}, \"at_step\":N}.");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (Array.IndexOf(BodyFields, property.Name) < 0)
                {
                    throw new FormatException($"unknown field '{property.Name}'; a command has {string.Join(", ", BodyFields)}.");
                }
            }

            if (!root.TryGetProperty("path"u8, out var path) || path.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(path.GetString()))
            {
                throw new FormatException("\"path\" must be the control's path, a non-empty string.");
            }

            IReadOnlyList<object?> args = !root.TryGetProperty("args"u8, out var a) || a.ValueKind == JsonValueKind.Null ? []
                : a.ValueKind == JsonValueKind.Array ? a.EnumerateArray().Select(e => (object?)e).ToArray()
                : throw new FormatException("\"args\" must be an array of positional arguments.");
            IReadOnlyList<KeyValuePair<string, object?>> kwargs = !root.TryGetProperty("kwargs"u8, out var k) || k.ValueKind == JsonValueKind.Null ? []
                : k.ValueKind == JsonValueKind.Object ? k.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, p.Value)).ToArray()
                : throw new FormatException("\"kwargs\" must be an object of keyword arguments.");
            long? atStep = null;
            if (root.TryGetProperty("at_step"u8, out var s) && s.ValueKind != JsonValueKind.Null)
            {
                atStep = s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var step) && step >= 0
                    ? step
                    : throw new FormatException($"\"at_step\" must be a whole step number, 0 or more, got {s.GetRawText()}.");
            }

            var force = root.TryGetProperty("force"u8, out var f) && (f.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? f.GetBoolean()
                : throw new FormatException("\"force\" must be true or false."));
            string? source = null;
            if (root.TryGetProperty("source"u8, out var from) && from.ValueKind != JsonValueKind.Null)
            {
                source = from.ValueKind == JsonValueKind.String && from.GetString() is { Length: > 0 and <= MaxSourceLength } text && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
                    ? text
                    : throw new FormatException($"\"source\" must name the sender in at most {MaxSourceLength} letters, digits, '-', '_' or '.', got {from.GetRawText()}.");
            }

            return new CommandBody(path.GetString()!, args, kwargs, atStep, force, source);
        }
    }
}
