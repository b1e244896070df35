using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RuntimeCtl.Testing;

/// <summary>
/// A fresh folder under the temp folder, removed at dispose, and in it the path of a queue directory (<see cref="Dir"/>,
/// not created: the trainer creates it, or <see cref="Create"/>), with helpers to write its files and read them back.
/// </summary>
public sealed class TempQueueDirectory : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The quick start's three controls as a <c>controller.json</c> lists them, for <see cref="WriteController"/>.</summary>
    public const string QuickStartControls = """[{"path":"optimizer.lr.multiplier","params":[{"name":"multiplier","type":"number","required":true}],"description":"Multiply the lr.","value":0.001},{"path":"model.dropout.p","params":[{"name":"p","type":"number","required":true}],"value":0.1},{"path":"save_ckpt","params":[{"name":"label","type":"string","required":false,"keyword":true}]}]""";

    /// <param name="parent">The folder to create it in (e.g. a test's own file system); the temp folder when null.</param>
    public TempQueueDirectory(string? parent = null)
    {
        if (parent is null)
        {
            Root = Directory.CreateTempSubdirectory("runtimectl-tests-").FullName;
        }
        else
        {
            Root = Path.Combine(parent, "runtimectl-tests-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(Root);
        }

        Dir = Path.Combine(Root, "q");
    }

    /// <summary>Gets the folder that holds the queue directory (and anything else a test needs beside it).</summary>
    public string Root { get; }

    /// <summary>Gets the queue directory.</summary>
    public string Dir { get; }

    public string Commands => Path.Combine(Dir, "commands.jsonl");

    public string Acks => Path.Combine(Dir, "acks.jsonl");

    public string Controller => Path.Combine(Dir, "controller.json");

    public string Cursor => Path.Combine(Dir, "cursor.json");

    /// <summary>Creates the queue directory owner-only (0700), as the trainer does.</summary>
    public TempQueueDirectory Create()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Dir);
        }
        else
        {
            Directory.CreateDirectory(Dir, OwnerOnly);
        }

        return this;
    }

    /// <summary>Appends <paramref name="json"/> and a newline to <c>commands.jsonl</c>.</summary>
    public void AppendLine(string json) => AppendRaw(json + "\n");

    /// <summary>Appends <paramref name="text"/> to <c>commands.jsonl</c> as it is (a torn line stays torn).</summary>
    public void AppendRaw(string text) => AppendBytes(Encoding.UTF8.GetBytes(text));

    /// <summary>Appends raw bytes to <c>commands.jsonl</c>.</summary>
    public void AppendBytes(byte[] bytes) => Append(Commands, bytes);

    /// <summary>Appends <paramref name="text"/> to <c>acks.jsonl</c> as it is, as a trainer would.</summary>
    public void AppendAck(string text) => Append(Acks, Encoding.UTF8.GetBytes(text));

    /// <summary>Gets the non-empty lines of <c>commands.jsonl</c> (none when it is missing).</summary>
    public string[] CommandLines() => File.Exists(Commands) ? File.ReadAllLines(Commands).Where(l => l.Length > 0).ToArray() : [];

    /// <summary>Gets the non-empty lines of <c>commands.jsonl</c>, parsed.</summary>
    public List<JsonElement> CommandObjects() => CommandLines().Select(Parse).ToList();

    /// <summary>Gets the complete ack lines written so far, parsed (a torn last line is left for later).</summary>
    public List<JsonElement> ReadAcks()
    {
        if (!File.Exists(Acks))
        {
            return [];
        }

        var text = File.ReadAllText(Acks);
        return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToList();
    }

    /// <summary>Gets the step <c>controller.json</c> reports, or <see langword="null"/> before the trainer's first poll.</summary>
    public long? ControllerStep()
    {
        try
        {
            var step = Parse(File.ReadAllText(Controller)).GetProperty("step");
            return step.ValueKind == JsonValueKind.Number ? step.GetInt64() : null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes the <c>controller.json</c> of a trainer whose last poll was <paramref name="ageSeconds"/> ago.</summary>
    public void WriteController(double ageSeconds, double pollIntervalSeconds = 2, string controls = QuickStartControls, string? extra = null)
    {
        Create();
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalSeconds;
        var ts = (now - ageSeconds).ToString("R", CultureInfo.InvariantCulture);
        var interval = pollIntervalSeconds.ToString("R", CultureInfo.InvariantCulture);
        File.WriteAllText(Controller, $$"""{"format":1,"pid":4242,"host":"trainer-host","started_ts":{{ts}},"last_poll_ts":{{ts}},"poll_interval_s":{{interval}},"step":null,"world_size":1,"controls":{{controls}}{{extra}}}""");
    }

    /// <summary>Parses one JSON document into an element that outlives it.</summary>
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>Gets the property names of an object, in order.</summary>
    public static string[] Keys(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder (a mount still busy) must not fail a test.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Append(string path, byte[] bytes)
    {
        Create();
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(bytes);
    }
}
