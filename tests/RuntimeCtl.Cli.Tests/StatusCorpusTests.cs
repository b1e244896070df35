using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

/// <summary>The hostile-input corpus as <c>acks.jsonl</c>: <c>status</c> reports bad lines and goes on.</summary>
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

    private static int LinesTheTrainerAcks(byte[] bytes)
    {
        using var commands = new TempQueueDirectory();
        commands.Create();
        File.WriteAllBytes(commands.Commands, [.. bytes, (byte)'\n']);
        return Trainer.Drain(commands.Dir).Count;
    }

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
        // Every line the trainer takes for a line (it acks each one) is either shown or counted as bad: none is
        // silently dropped, and no blank is taken for a bad ack. The trainer reading the same bytes as commands says
        // which lines there are, by the format's one rule for both files.
        Assert.Equal(LinesTheTrainerAcks(bytes) + 1, last.GetArrayLength() + status.GetProperty("bad_ack_lines").GetInt32());
        Assert.All(last.EnumerateArray(), ack => Assert.Equal(JsonValueKind.Object, ack.ValueKind));
    }
}
