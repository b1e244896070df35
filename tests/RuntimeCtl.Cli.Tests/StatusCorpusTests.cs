using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

/// <summary>Issue 3.3: the hostile-input corpus as <c>acks.jsonl</c>; <c>status</c> reports bad lines and goes on.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StatusCorpusTests : IDisposable
{
    private const string Canary = """{"id":"canary-ack","ts":1.0,"path":"p","op":"set","status":"applied","args":[],"kwargs":{}}""";

    private readonly TempQueueDirectory _q = new();

    public static TheoryData<string> Kinds()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Corpus"), "*.jsonl").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    public void Dispose() => _q.Dispose();

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Run_StatusOverHostileAcks_ReportsAndGoesOn(string kind)
    {
        Directory.CreateDirectory(_q.Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Corpus", kind));
        File.WriteAllBytes(Path.Combine(_q.Dir, "acks.jsonl"), [.. bytes, (byte)'\n', .. System.Text.Encoding.UTF8.GetBytes(Canary + "\n")]);
        File.WriteAllText(Path.Combine(_q.Dir, "commands.jsonl"), string.Empty);

        var result = InProcess.Run("-q", _q.Dir, "status", "--last", "100000");

        Assert.Equal(0, result.ExitCode);
        var status = result.Json;
        var last = status.GetProperty("last_acks");
        Assert.Equal("canary-ack", last[last.GetArrayLength() - 1].GetProperty("id").GetString());
        // Every non-blank line is either shown or counted as bad: none is silently dropped.
        var lines = File.ReadAllBytes(Path.Combine(_q.Dir, "acks.jsonl")).AsSpan();
        var nonBlank = 0;
        foreach (var range in lines.Split((byte)'\n'))
        {
            var line = lines[range];
            if (!line.IsEmpty && range.Start.Value == 0 && line.StartsWith("\uFEFF"u8))
            {
                line = line[3..];
            }

            if (!line.Trim(" \t\r\v\f"u8).IsEmpty)
            {
                nonBlank++;
            }
        }

        Assert.Equal(nonBlank, last.GetArrayLength() + status.GetProperty("bad_ack_lines").GetInt32());
        Assert.All(last.EnumerateArray(), ack => Assert.Equal(JsonValueKind.Object, ack.ValueKind));
    }
}
