using System.Text;
using System.Text.Json;

namespace RuntimeCtl.Cli.Tests.Support;

/// <summary>A fresh queue directory path under the temp folder (not created), removed at dispose, with helpers for its files.</summary>
public sealed class TempQueueDirectory : IDisposable
{
    public TempQueueDirectory()
    {
        Root = Path.Combine(Path.GetTempPath(), "rtc-cli-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Dir = Path.Combine(Root, "q");
    }

    public string Root { get; }

    public string Dir { get; }

    public string Commands => Path.Combine(Dir, "commands.jsonl");

    public string Acks => Path.Combine(Dir, "acks.jsonl");

    public string Controller => Path.Combine(Dir, "controller.json");

    /// <summary>Creates the directory owner-only, as the trainer does.</summary>
    public TempQueueDirectory Create()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Dir);
        }
        else
        {
            Directory.CreateDirectory(Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return this;
    }

    public void AppendAck(string text) => Append(Acks, text);

    public void AppendCommand(string text) => Append(Commands, text);

    public string[] CommandLines() => File.Exists(Commands) ? File.ReadAllLines(Commands).Where(l => l.Length > 0).ToArray() : [];

    public List<JsonElement> CommandObjects() => CommandLines().Select(Parse).ToList();

    /// <summary>Writes a <c>controller.json</c> of a trainer whose last poll was <paramref name="ageSeconds"/> ago.</summary>
    public void WriteController(double ageSeconds, double pollIntervalSeconds = 2, string controls = """[{"path":"optimizer.lr.multiplier","params":[{"name":"multiplier","type":"number","required":true}],"description":"Multiply the lr.","value":0.001},{"path":"model.dropout.p","params":[{"name":"p","type":"number","required":true}],"value":0.1},{"path":"save_ckpt","params":[{"name":"label","type":"string","required":false,"keyword":true}]}]""", string? extra = null)
    {
        Create();
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalSeconds;
        var ts = (now - ageSeconds).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var interval = pollIntervalSeconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(Controller, $$"""{"format":1,"pid":4242,"host":"trainer-host","started_ts":{{ts}},"last_poll_ts":{{ts}},"poll_interval_s":{{interval}},"step":null,"world_size":1,"controls":{{controls}}{{extra}}}""");
    }

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static string[] Keys(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Append(string path, string text)
    {
        Create();
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(Encoding.UTF8.GetBytes(text));
    }
}
