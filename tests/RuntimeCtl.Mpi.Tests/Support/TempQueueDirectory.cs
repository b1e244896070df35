using System.Text.Json;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>A queue directory path under a fresh temp folder (the trainer's rank 0 creates it), removed at dispose.</summary>
internal sealed class TempQueueDirectory : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("runtimectl-mpi-queue-");

    public string Dir => Path.Combine(_root.FullName, "q");

    /// <summary>Gets the acks written so far, parsed (a torn last line is left for later).</summary>
    public IReadOnlyList<JsonElement> ReadAcks()
    {
        var path = Path.Combine(Dir, "acks.jsonl");
        if (!File.Exists(path))
        {
            return [];
        }

        var text = File.ReadAllText(path);
        return [.. text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse)];
    }

    /// <summary>Gets the step <c>controller.json</c> reports, or <see langword="null"/> before rank 0's first poll.</summary>
    public long? ControllerStep()
    {
        try
        {
            var step = Parse(File.ReadAllText(Path.Combine(Dir, "controller.json"))).GetProperty("step");
            return step.ValueKind == JsonValueKind.Number ? step.GetInt64() : null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
