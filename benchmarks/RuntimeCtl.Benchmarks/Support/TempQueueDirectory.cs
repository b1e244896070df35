namespace RuntimeCtl.Benchmarks;

/// <summary>A fresh queue directory under the temp directory (0700), removed on dispose.</summary>
public sealed class TempQueueDirectory : IDisposable
{
    public TempQueueDirectory(string name)
    {
        // CreateTempSubdirectory makes the directory 0700, as the core requires of a queue directory.
        Path = Directory.CreateTempSubdirectory($"runtimectl-bench-{name}-").FullName;
    }

    public string Path { get; }

    public string Commands => System.IO.Path.Combine(Path, "commands.jsonl");

    public string Acks => System.IO.Path.Combine(Path, "acks.jsonl");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A benchmark process that is killed leaves its directory behind; the next run makes another one.
        }
    }
}
