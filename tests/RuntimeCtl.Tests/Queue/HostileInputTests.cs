using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// The checks and refusals of docs/queue-format.md against the hostile corpus in <c>Corpus/</c> (expectations in <c>Corpus/manifest.json</c>):
/// every bad input becomes the right acks, never an exception, every ack line is valid JSON, memory stays bounded,
/// and a valid command written after it is still applied.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private const int MiB = 1024 * 1024;

    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "Corpus");
    private static readonly Lazy<(string Canary, Dictionary<string, JsonElement> Kinds)> Manifest = new(LoadManifest);

    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    public static TheoryData<string> Kinds() => [.. Manifest.Value.Kinds.Keys];

    /// <summary>The kinds that mean the same anywhere in the file (not a BOM, which is special only at its start).</summary>
    public static TheoryData<string> KindsAnywhere() =>
        [.. Manifest.Value.Kinds.Where(k => !k.Value.TryGetProperty("atFileStart", out _)).Select(k => k.Key)];

    [Fact]
    public void Manifest_CorpusFiles_AreAllListedAndAtLeastForty()
    {
        var files = Directory.GetFiles(CorpusDirectory, "*.jsonl").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var listed = Manifest.Value.Kinds.Values
            .Where(k => k.TryGetProperty("file", out _))
            .Select(k => k.GetProperty("file").GetString())
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(files, listed);
        Assert.True(files.Count >= 40, $"the corpus has {files.Count} files, fewer than 40");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void PollAndApply_HostileInput_WritesExpectedAcksAndAppliesTheNextCommand(string kind)
    {
        var spec = Manifest.Value.Kinds[kind];
        var expected = ExpectedAcks(spec);
        var firstPoll = spec.TryGetProperty("firstPoll", out var f) ? f.GetInt32() : expected.Count;
        var maxAllocated = spec.TryGetProperty("maxPollAllocatedBytes", out var m) ? m.GetInt64() : long.MaxValue;
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        WriteInput(spec);

        var (first, firstAllocated) = Poll(rt, state);
        Assert.Equal(firstPoll, first.Count);
        Assert.Equal(firstPoll, ReadStrictAcks().Count);
        Complete(spec);
        _q.AppendLine(Manifest.Value.Canary);
        var (second, secondAllocated) = Poll(rt, state);

        var acks = ReadStrictAcks();
        Assert.Equal(expected.Count + 1, acks.Count);
        Assert.Equal(acks.Count, first.Count + second.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            AssertAck(expected[i], acks[i], $"{kind}, ack {i}");
        }

        Assert.Equal("canary", acks[^1].GetProperty("id").GetString());
        Assert.Equal("applied", acks[^1].GetProperty("status").GetString());
        Assert.Equal(0.3, state.Dropout);
        Assert.True(firstAllocated < maxAllocated, $"the first poll allocated {firstAllocated:N0} bytes, over {maxAllocated:N0}");
        Assert.True(secondAllocated < maxAllocated, $"the second poll allocated {secondAllocated:N0} bytes, over {maxAllocated:N0}");
    }

    [Theory]
    [MemberData(nameof(KindsAnywhere))]
    public void PollAndApply_HostileInputBetweenCommandsInOneBatch_LeavesItsNeighboursAlone(string kind)
    {
        var spec = Manifest.Value.Kinds[kind];
        var expected = ExpectedAcks(spec);
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"before","path":"optimizer.lr.multiplier","args":[2]}""");
        WriteInput(spec);
        Complete(spec);
        _q.AppendLine(Manifest.Value.Canary);

        var (acks, _) = Poll(rt, state);

        var written = ReadStrictAcks();
        Assert.Equal(expected.Count + 2, written.Count);
        Assert.Equal(written.Count, acks.Count);
        Assert.Equal("before", written[0].GetProperty("id").GetString());
        Assert.Equal("applied", written[0].GetProperty("status").GetString());
        for (var i = 0; i < expected.Count; i++)
        {
            AssertAck(expected[i], written[i + 1], $"{kind}, ack {i}");
        }

        Assert.Equal("canary", written[^1].GetProperty("id").GetString());
        Assert.Equal("applied", written[^1].GetProperty("status").GetString());
        Assert.Equal(2e-3, state.Lr, 12);
        Assert.Equal(0.3, state.Dropout);
    }

    [Fact]
    public void PollAndApply_HundredMiBOfGarbageWithoutNewline_StaysBoundedAndAppliesTheNextCommand()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        WriteGarbage(_q.Commands, 100 * MiB, lineBytes: null);

        var (first, firstAllocated) = Poll(rt, state);
        _q.AppendRaw("\n" + Manifest.Value.Canary + "\n");
        var (second, secondAllocated) = Poll(rt, state);

        Assert.Empty(first);
        var acks = ReadStrictAcks();
        Assert.Equal(2, acks.Count);
        Assert.Equal(2, second.Count);
        Assert.Equal("invalid", acks[0].GetProperty("op").GetString());
        Assert.Equal("", acks[0].GetProperty("path").GetString());
        Assert.Contains($"{100 * MiB} bytes long, over the limit of 1 MiB", acks[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("applied", acks[1].GetProperty("status").GetString());
        Assert.Equal(0.3, state.Dropout);
        Assert.True(firstAllocated < 8 * MiB, $"the first poll allocated {firstAllocated:N0} bytes for a 100 MiB line");
        Assert.True(secondAllocated < 8 * MiB, $"the second poll allocated {secondAllocated:N0} bytes for a 100 MiB line");
    }

    [Fact]
    public void PollAndApply_HundredMiBOfGarbageLines_StaysBoundedAndAppliesTheNextCommand()
    {
        // 1,600 lines of 64 KiB (random bytes, then NULs): each under the limit, together far over what one poll should hold.
        const int lineBytes = 64 * 1024;
        const int lines = 100 * MiB / lineBytes;
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        WriteGarbage(_q.Commands, 100 * MiB, lineBytes);
        _q.AppendLine(Manifest.Value.Canary);

        var (polled, allocated) = Poll(rt, state);
        var (more, moreAllocated) = Poll(rt, state);

        var acks = ReadStrictAcks();
        Assert.Equal(lines + 1, acks.Count);
        Assert.Equal(acks.Count, polled.Count + more.Count);
        Assert.All(acks.Take(lines), ack =>
        {
            Assert.Equal("rejected", ack.GetProperty("status").GetString());
            Assert.Equal("invalid", ack.GetProperty("op").GetString());
            Assert.Equal("", ack.GetProperty("path").GetString());
        });
        Assert.Equal("canary", acks[^1].GetProperty("id").GetString());
        Assert.Equal("applied", acks[^1].GetProperty("status").GetString());
        Assert.True(allocated < 16 * MiB, $"one poll allocated {allocated:N0} bytes for 100 MiB of input");
        Assert.True(moreAllocated < 16 * MiB, $"one poll allocated {moreAllocated:N0} bytes for 100 MiB of input");
    }

    [Fact]
    public void Configure_CommandsFileIsADirectory_ThrowsQueueConfigurationException()
    {
        Directory.CreateDirectory(_q.Commands);

        var error = Assert.Throws<QueueConfigurationException>(() => Trainer.Create(_q.Dir));

        Assert.Contains("not a regular file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PollAndApply_CommandsFileReplacedByADirectory_DoesNotThrowAndResumesWhenItIsAFileAgain()
    {
        var time = new FakeTimeProvider();
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { TimeProvider = time, OnDiagnostic = _ => { } });
        _q.AppendLine("""{"id":"before","path":"model.dropout.p","args":[0.2]}""");
        Assert.Single(rt.PollAndApply(state, TimeSpan.Zero));

        File.Delete(_q.Commands);
        Directory.CreateDirectory(_q.Commands);
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            Assert.Empty(rt.PollAndApply(state, TimeSpan.Zero));
        }

        Directory.Delete(_q.Commands);
        _q.AppendLine("""{"id":"before","path":"model.dropout.p","args":[0.2]}""");
        _q.AppendLine(Manifest.Value.Canary);
        time.Advance(TimeSpan.FromSeconds(2));
        var acks = rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Equal(["canary"], acks.Select(a => a.Id));
        Assert.Equal(["before", "canary"], ReadStrictAcks().Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(2, state.Applied);
        Assert.Equal(0.3, state.Dropout);
    }



    private static (IReadOnlyList<Ack> Acks, long Allocated) Poll(RuntimeController<TrainState> rt, TrainState state)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var acks = rt.PollAndApply(state, TimeSpan.Zero);
        return (acks, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static List<JsonElement> ExpectedAcks(JsonElement spec)
    {
        var acks = new List<JsonElement>();
        foreach (var ack in spec.GetProperty("acks").EnumerateArray())
        {
            var times = ack.TryGetProperty("times", out var t) ? t.GetInt32() : 1;
            acks.AddRange(Enumerable.Repeat(ack, times));
        }

        return acks;
    }

    private static void AssertAck(JsonElement expected, JsonElement ack, string where)
    {
        // Messages are built only on failure: some acks echo a megabyte.
        void Check(bool condition, string what)
        {
            if (!condition)
            {
                Assert.Fail($"{where}: expected {what}, got {ack}");
            }
        }

        var status = expected.GetProperty("status").GetString();
        Check(status == ack.GetProperty("status").GetString(), "the status " + status);
        string[] keys = status == "applied"
            ? ["id", "ts", "path", "op", "status", "args", "kwargs"]
            : ["id", "ts", "path", "op", "status", "error"];
        Check(keys.SequenceEqual(TempQueueDirectory.Keys(ack)), "the keys " + string.Join(",", keys));
        Check(ack.GetProperty("ts").ValueKind == JsonValueKind.Number, "a number ts");
        var id = ack.GetProperty("id").GetString()!;
        if (expected.TryGetProperty("id", out var expectedId))
        {
            Check(expectedId.GetString() == id, "the id " + expectedId.GetRawText());
        }

        if (expected.TryGetProperty("generatedId", out _))
        {
            Check(Guid.TryParse(id, out _) && !id.Any(char.IsUpper), "a generated lower-case UUID");
        }

        foreach (var field in (string[])["op", "path"])
        {
            if (expected.TryGetProperty(field, out var value))
            {
                Check(JsonElement.DeepEquals(value, ack.GetProperty(field)), $"{field} {value.GetRawText()}");
            }
        }

        if (expected.TryGetProperty("error", out var error))
        {
            Check(ack.GetProperty("error").GetString()!.Contains(error.GetString()!, StringComparison.Ordinal), $"an error containing '{error.GetString()}'");
        }

        if (expected.TryGetProperty("op", out var op) && op.ValueKind == JsonValueKind.String && op.GetString() == "invalid")
        {
            Check(ack.GetProperty("error").GetString()!.StartsWith("unsupported op: invalid", StringComparison.Ordinal), "an error starting 'unsupported op: invalid'");
        }
    }

    /// <summary>Reads acks.jsonl as a strict reader would: every line complete and valid JSON (no NaN), each an object.</summary>
    private List<JsonElement> ReadStrictAcks()
    {
        var bytes = File.ReadAllBytes(_q.Acks);
        Assert.True(bytes.Length == 0 || bytes[^1] == (byte)'\n', "acks.jsonl does not end with a newline");
        var acks = new List<JsonElement>();
        var rest = bytes.AsMemory();
        while (!rest.IsEmpty)
        {
            var end = rest.Span.IndexOf((byte)'\n');
            var line = rest[..end];
            rest = rest[(end + 1)..];
            try
            {
                using var document = JsonDocument.Parse(line);
                Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
                acks.Add(document.RootElement.Clone());
            }
            catch (JsonException e)
            {
                Assert.Fail($"ack line {acks.Count} is not valid JSON ({e.Message}): {Encoding.UTF8.GetString(line.Span)}");
            }
        }

        return acks;
    }

    private void WriteInput(JsonElement spec)
    {
        using var stream = new FileStream(_q.Commands, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        if (spec.TryGetProperty("file", out var file))
        {
            stream.Write(File.ReadAllBytes(Path.Combine(CorpusDirectory, file.GetString()!)));
            return;
        }

        var label = Label("big");
        switch (spec.GetProperty("generator").GetString())
        {
            case "many-keys":
                var keys = new StringBuilder("{");
                for (var i = 0; i < 50_000; i++)
                {
                    keys.Append("\"k").Append(i).Append("\":0,");
                }

                keys.Append("\"id\":\"many-keys\",\"path\":\"model.dropout.p\",\"args\":[0.3]}\n");
                stream.Write(Encoding.UTF8.GetBytes(keys.ToString()));
                break;
            case "long-string-under-limit":
                PaddedLine(stream, Label("long-string"), 1_000_000 + 60, "\"}}\n");
                break;
            case "line-at-limit":
                PaddedLine(stream, Label("at-limit"), MiB, "\"}}\n");
                break;
            case "line-over-limit-by-one":
                PaddedLine(stream, label, MiB + 1, "\"}}\n");
                break;
            case "line-over-limit-within-buffer":
                PaddedLine(stream, label, (3 * MiB) / 2, "\"}}\n");
                stream.Write("""{"id":"after-long","path":"model.dropout.p","args":[0.3]}"""u8);
                stream.WriteByte((byte)'\n');
                break;
            case "line-10mib":
                PaddedLine(stream, label, 10 * MiB, "\"}}\n");
                break;
            case "line-10mib-torn":
                PaddedLine(stream, label, 10 * MiB, "\"}}");
                break;
            case "many-short-lines-after-long":
                PaddedLine(stream, label, 3 * MiB, "\"}}\n");
                for (var i = 0; i < 1000; i++)
                {
                    stream.Write("""{"path":"model.dropout.p","args":[0.3]}"""u8);
                    stream.WriteByte((byte)'\n');
                }

                break;
            case var other:
                Assert.Fail($"the manifest names the generator '{other}', which this test does not know");
                break;
        }
    }

    private static string Label(string id) => $$"""{"id":"{{id}}","path":"save_ckpt","kwargs":{"label":""" + "\"";

    /// <summary>Writes <paramref name="prefix"/>, 'x' up to <paramref name="lineBytes"/> bytes before the newline, then <paramref name="suffix"/>.</summary>
    private static void PaddedLine(Stream stream, string prefix, int lineBytes, string suffix)
    {
        var head = Encoding.UTF8.GetBytes(prefix);
        var tail = Encoding.UTF8.GetBytes(suffix);
        var tailBeforeNewline = suffix.EndsWith('\n') ? tail.Length - 1 : tail.Length;
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        stream.Write(head);
        for (var left = lineBytes - head.Length - tailBeforeNewline; left > 0; left -= chunk.Length)
        {
            stream.Write(chunk, 0, Math.Min(left, chunk.Length));
        }

        stream.Write(tail);
    }

    /// <summary>Ends the input as the next sender would (docs/queue-format.md, "Senders"), or completes a write in progress.</summary>
    private void Complete(JsonElement spec)
    {
        if (spec.TryGetProperty("complete", out var complete))
        {
            _q.AppendRaw(complete.GetString()!);
            return;
        }

        using var stream = new FileStream(_q.Commands, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        if (stream.Length > 0)
        {
            stream.Position = stream.Length - 1;
            if (stream.ReadByte() != '\n')
            {
                stream.WriteByte((byte)'\n');
            }
        }
    }

    /// <summary>
    /// Writes one MiB of seeded random bytes, then a zero-filled tail (as preallocation or a crash leaves; sparse, so
    /// cheap to make) up to <paramref name="totalBytes"/>: no '\n' at all, or one ending every <paramref name="lineBytes"/> bytes.
    /// </summary>
    private static void WriteGarbage(string path, int totalBytes, int? lineBytes)
    {
        var head = new byte[MiB];
        new Random(20240229).NextBytes(head);
        head.AsSpan().Replace((byte)'\n', (byte)'~');
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        var start = stream.Seek(0, SeekOrigin.End);
        stream.Write(head);
        stream.SetLength(start + totalBytes);
        if (lineBytes is not { } every)
        {
            return;
        }

        for (var end = start + every - 1; end < start + totalBytes; end += every)
        {
            stream.Position = end;
            stream.WriteByte((byte)'\n');
        }
    }

    private static (string Canary, Dictionary<string, JsonElement> Kinds) LoadManifest()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(CorpusDirectory, "manifest.json")));
        var kinds = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var kind in document.RootElement.GetProperty("kinds").EnumerateArray())
        {
            var name = kind.TryGetProperty("file", out var file) ? file.GetString()! : kind.GetProperty("generator").GetString()!;
            kinds.Add(name, kind.Clone());
        }

        return (document.RootElement.GetProperty("canary").GetString()!, kinds);
    }
}
