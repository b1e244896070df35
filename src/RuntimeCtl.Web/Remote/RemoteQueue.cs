using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RuntimeCtl.Cli.Remote;

/// <summary>
/// <see cref="IRemoteQueue"/> over HttpClient: <c>runtimectl serve</c>'s HTTP API called with the token as a bearer
/// header. Synchronous, like the rest of the CLI; Ctrl-C cancels a call.
/// </summary>
internal sealed class RemoteQueue : IRemoteQueue
{
    /// <summary>The longest wait of one <c>GET /api/ack</c>: long waits are several calls.</summary>
    public static readonly TimeSpan MaxWaitPerCall = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly RemoteEndpoint _endpoint;
    private readonly CancellationToken _cancellationToken;

    public RemoteQueue(RemoteEndpoint endpoint, CancellationToken cancellationToken)
    {
        _endpoint = endpoint;
        _cancellationToken = cancellationToken;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = endpoint.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Token);
    }

    /// <inheritdoc/>
    public RemoteStatus ReadStatus(int last)
    {
        using var document = GetJson("api/status?last=" + last.ToString(CultureInfo.InvariantCulture));
        var root = document.RootElement.Clone();
        var acks = root.GetProperty("last_acks").EnumerateArray().ToArray();
        var tail = AckTail.FromParts(acks, root.GetProperty("bad_ack_lines").GetInt32(), String(root, "bad_ack_problem"));
        var controller = root.GetProperty("controller") is { ValueKind: JsonValueKind.Object } c ? ControllerSnapshot.FromJson(c) : null;
        var status = QueueStatus.FromParts(
            new LineCount(root.GetProperty("commands").GetInt64(), 0, FromController: false),
            new LineCount(root.GetProperty("acks").GetInt64(), 0, FromController: false),
            tail,
            controller,
            String(root, "controller_problem"));
        var now = JsonFormat.FromUnixSeconds(root.GetProperty("now").GetDouble())
            ?? throw new RemoteException($"the dashboard at {_endpoint.Label} replied with no usable time ('now'). Is it 'runtimectl serve'?", ExitCodes.Error);
        return new RemoteStatus(String(root, "queue_dir") ?? string.Empty, root.GetProperty("exists").GetBoolean(), now, status);
    }

    /// <inheritdoc/>
    public TextReader OpenHistory(string? status)
    {
        var query = status is null ? string.Empty : "?status=" + Uri.EscapeDataString(status);
        var response = Send(new HttpRequestMessage(HttpMethod.Get, "api/history" + query));
        return new StreamReader(response.Content.ReadAsStream(_cancellationToken), Encoding.UTF8);
    }

    /// <inheritdoc/>
    public SentCommand Post(string path, IReadOnlyList<object?> args, IReadOnlyList<KeyValuePair<string, object?>> kwargs, long? atStep)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteString("path"u8, path);
            writer.WriteStartArray("args"u8);
            foreach (var arg in args)
            {
                WriteValue(writer, arg);
            }

            writer.WriteEndArray();
            writer.WriteStartObject("kwargs"u8);
            foreach (var (name, value) in kwargs)
            {
                writer.WritePropertyName(name);
                WriteValue(writer, value);
            }

            writer.WriteEndObject();
            if (atStep is { } step)
            {
                writer.WriteNumber("at_step"u8, step);
            }

            // The unknown-path check was made here already, against the same list; the server need not make it again.
            writer.WriteBoolean("force"u8, true);
            writer.WriteString("source"u8, "remote-cli");
            writer.WriteEndObject();
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "api/commands")
        {
            Content = new ByteArrayContent(body.WrittenSpan.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        using var document = Json(Send(request));
        var root = document.RootElement;
        var command = root.GetProperty("command");
        return new SentCommand(
            command.GetProperty("id").GetString()!,
            command.GetRawText(),
            root.GetProperty("ack_offset").GetInt64(),
            root.GetProperty("alternate_ids").EnumerateArray().Select(a => a.GetString()!).ToArray());
    }

    /// <inheritdoc/>
    /// <remarks>One call waits at most <see cref="MaxWaitPerCall"/>.</remarks>
    public FoundAck? WaitForAck(SentCommand command, TimeSpan wait)
    {
        var seconds = Math.Clamp(wait.TotalSeconds, 0, MaxWaitPerCall.TotalSeconds);
        var query = new StringBuilder("api/ack?id=").Append(Uri.EscapeDataString(command.Id))
            .Append("&offset=").Append(command.AckOffset.ToString(CultureInfo.InvariantCulture))
            .Append("&wait=").Append(seconds.ToString("0.###", CultureInfo.InvariantCulture));
        foreach (var alternate in command.AlternateIds)
        {
            query.Append("&alt=").Append(Uri.EscapeDataString(alternate));
        }

        using var document = GetJson(query.ToString());
        var ack = document.RootElement.GetProperty("ack");
        return ack.ValueKind == JsonValueKind.Object ? new FoundAck(ack.GetRawText(), String(ack, "status")) : null;
    }

    public void Dispose() => _http.Dispose();

    private JsonDocument GetJson(string relative) => Json(Send(new HttpRequestMessage(HttpMethod.Get, relative)));

    private JsonDocument Json(HttpResponseMessage response)
    {
        using (response)
        {
            try
            {
                using var stream = response.Content.ReadAsStream(_cancellationToken);
                return JsonDocument.Parse(stream, JsonFormat.DocumentOptions);
            }
            catch (JsonException e)
            {
                throw new RemoteException($"the server at {_endpoint.Label} replied with something that is not the dashboard's JSON ({e.Message}). Is it 'runtimectl serve'?", ExitCodes.Error, e);
            }
        }
    }

    private HttpResponseMessage Send(HttpRequestMessage request)
    {
        HttpResponseMessage response;
        try
        {
            using (request)
            {
                response = _http.Send(request, HttpCompletionOption.ResponseHeadersRead, _cancellationToken);
            }
        }
        catch (HttpRequestException e)
        {
            throw new RemoteException($"cannot reach the dashboard at {_endpoint.Label}: {e.Message}. Is 'runtimectl serve' running there (and the SSH tunnel, if any, open)?", ExitCodes.Error, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var error = ErrorOf(response);
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new RemoteException($"the dashboard at {_endpoint.Label} refused the token: {error} Check --token / {RemoteEndpoint.TokenVariable} against the URL that 'runtimectl serve' printed (it changes at every start). Nothing was sent.", ExitCodes.Error),
                HttpStatusCode.BadRequest or HttpStatusCode.Conflict => new RemoteException(error, ExitCodes.Usage),
                _ => new RemoteException($"the dashboard at {_endpoint.Label} answered {(int)response.StatusCode} {response.ReasonPhrase}: {error}", ExitCodes.Error),
            };
        }
    }

    private string ErrorOf(HttpResponseMessage response)
    {
        try
        {
            using var stream = response.Content.ReadAsStream(_cancellationToken);
            using var document = JsonDocument.Parse(stream, JsonFormat.DocumentOptions);
            return String(document.RootElement, "error") ?? "(no error message)";
        }
        catch (JsonException)
        {
            return "(no error message)";
        }
    }

    /// <summary>Writes one argument as the command line made it (<see cref="ArgumentValues"/>): a JSON value, or a plain word.</summary>
    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case JsonElement element:
                element.WriteTo(writer);
                break;
            case string word:
                writer.WriteStringValue(word);
                break;
            case null:
                writer.WriteNullValue();
                break;
            default:
                throw new ArgumentException($"An argument of the command line is a JSON value or a word, not a {value.GetType().Name}.", nameof(value));
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
