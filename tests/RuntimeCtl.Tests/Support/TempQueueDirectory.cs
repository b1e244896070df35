using System.Text;
using System.Text.Json;

namespace RuntimeCtl.Tests.Support;

/// <summary>A fresh queue directory under the temp folder (or <c>parent</c>), removed at dispose, with helpers to write raw lines and read acks.</summary>
public sealed class TempQueueDirectory : IDisposable
{
    public TempQueueDirectory(string? parent = null)
    {
        Root = Path.Combine(parent ?? Path.GetTempPath(), "rtc-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.GetDirectoryName(Root)!);
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

    /// <summary>Appends <paramref name="text"/> to <c>acks.jsonl</c> as it is (a trainer's lines, or hostile ones).</summary>
    public void AppendAck(string text)
    {
        Create();
        using var stream = new FileStream(Acks, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    public void AppendRaw(string text) => AppendBytes(Encoding.UTF8.GetBytes(text));

    public void AppendBytes(byte[] bytes)
    {
        Directory.CreateDirectory(Dir);
        using var stream = new FileStream(Commands, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(bytes);
    }

    public void AppendLine(string json) => AppendRaw(json + "\n");

    public List<JsonElement> ReadAcks()
    {
        if (!File.Exists(Acks))
        {
            return [];
        }

        return File.ReadAllLines(Acks).Where(l => l.Length > 0).Select(l =>
        {
            using var document = JsonDocument.Parse(l);
            return document.RootElement.Clone();
        }).ToList();
    }

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static string[] Keys(JsonElement ack) => ack.EnumerateObject().Select(p => p.Name).ToArray();

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
}
