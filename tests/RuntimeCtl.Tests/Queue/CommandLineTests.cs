using System.Text;
using System.Text.Json;
using RuntimeCtl.Tests.Queue.Oracle;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// The single-pass <see cref="CommandLine"/> against the document parser it replaced (<see cref="DocumentCommandParser"/>):
/// over every corpus line and many generated ones both must decide the same, to the byte of every message.
/// </summary>
public sealed class CommandLineTests
{
    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "Corpus");

    [Fact]
    public void Parse_EveryCorpusLine_DecidesAsTheDocumentParser()
    {
        var lines = new List<byte[]>();
        foreach (var file in Directory.GetFiles(CorpusDirectory, "*.jsonl").Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            lines.Add(bytes);
            foreach (var raw in Split(bytes))
            {
                lines.Add(raw);
                lines.Add(LineText.Trim(raw).ToArray());
            }
        }

        _ = AssertSameDecisions(lines);
    }

    [Fact]
    public void Parse_GeneratedCommandsAndTheirMutations_DecideAsTheDocumentParser()
    {
        var lines = new List<byte[]>();
        foreach (var seed in new[] { 1, 2, 3, 17, 2025 })
        {
            var generator = new CommandGenerator(seed);
            for (var i = 0; i < 4000; i++)
            {
                lines.Add(generator.Next());
            }
        }

        var decisions = AssertSameDecisions(lines);

        // The generator reaches every decision, not only the easy ones.
        Assert.True(decisions.Count(d => d.Invalid is null && d.Refusal is null) > lines.Count / 10, "too few valid commands");
        Assert.True(decisions.Count(d => d.HasOwnId && d.Invalid is null) > lines.Count / 20, "too few commands with their own id");
        Assert.Contains(decisions, d => d.Refusal?.StartsWith("at_step", StringComparison.Ordinal) == true);
        Assert.Contains(decisions, d => d.Refusal?.StartsWith("command id", StringComparison.Ordinal) == true);
        Assert.Contains(decisions, d => d.AtStep is not null);
        Assert.Contains(decisions, d => d.Arguments.Contains('=', StringComparison.Ordinal));
        foreach (var reason in new[] { "not valid JSON", "maximum configured depth of 64", "appears twice", "a key contains a lone", "a string contains a lone", "out of range", "not a JSON object", "not valid UTF-8" })
        {
            Assert.True(decisions.Any(d => d.Invalid?.Contains(reason, StringComparison.Ordinal) == true), "no line was invalid for: " + reason);
        }
    }

    [Theory]
    [InlineData("""{"id":"a","i\u0064":"b"}""")]
    [InlineData("""{"path":"x","\u0070ath":"y"}""")]
    [InlineData("""{"a":{"k":1,"\u006b":2}}""")]
    [InlineData("""{"a":1,"b":2,"c":3,"d":4,"e":5,"a":6}""")]
    [InlineData("""{"averyveryverylongpropertyname":1,"averyveryverylongpropertyname":2}""")]
    [InlineData("""{"path":"x","args":[1e400]}""")]
    [InlineData("""{"path":"x","args":[-0, 1e-400, 1E+2]}""")]
    [InlineData("""{"path":"\ud800"}""")]
    [InlineData("""{"path":"\ud83d\ude00"}""")]
    [InlineData("""{"\ud800x":1}""")]
    [InlineData("""[{"a":1,"a":2}]""")]
    [InlineData("""[1e400]""")]
    [InlineData("""{"a":1e400,"b":1,"b":2}""")]
    [InlineData("""{"a":1,"a":2 x""")]
    [InlineData("""{"id":"x","at_step":12.0,"id":"y"}""")]
    [InlineData("""{"id":7,"at_step":"soon"}""")]
    [InlineData("""{"id":"","path":"a\u0062","op":"s\u0065t"}""")]
    public void Parse_Boundary_DecidesAsTheDocumentParser(string text) => _ = AssertSameDecisions([Encoding.UTF8.GetBytes(text)]);

    [Fact]
    public void Parse_ValidCommandWithItsId_AllocatesTheLineObjectAndTheIdOnly()
    {
        // Arrange: a command as CommandSender writes it, parsed once before so that nothing is measured but the parse.
        var bytes = CommandSender.Serialize("00000000-0000-4000-8000-000000000001", DateTimeOffset.UnixEpoch, "optim.lr", [0.001], [new("momentum", 0.9)], atStep: 12);
        var body = bytes.AsMemory(0, bytes.Length - 1);
        CommandLine.Parse(0, body).Dispose();

        // Act
        var before = GC.GetAllocatedBytesForCurrentThread();
        var line = CommandLine.Parse(0, body);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert: the CommandLine object and the 36-character id string (20 + 2 x 36 bytes, rounded to 8), nothing else.
        Assert.Null(line.Invalid);
        Assert.Equal(12, line.AtStep);
        Assert.Equal(CommandLineBytes + 96, allocated);
    }

    [Fact]
    public void Parse_ValidCommandWithoutId_AllocatesTheLineObjectAndTheDerivedIdOnly()
    {
        var body = """{"path":"optim.lr","args":[0.001],"kwargs":{"momentum":0.9}}"""u8.ToArray().AsMemory();
        CommandLine.Parse(0, body).Dispose();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var line = CommandLine.Parse(0, body);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.False(line.HasOwnId);
        Assert.Equal(CommandLineBytes + 96, allocated);
    }

    /// <summary>The size of a <see cref="CommandLine"/> object on 64-bit .NET: 16 bytes of header and method table, 160 of fields.</summary>
    private const long CommandLineBytes = 176;

    private static IEnumerable<byte[]> Split(byte[] bytes)
    {
        var start = 0;
        for (var i = 0; i <= bytes.Length; i++)
        {
            if (i == bytes.Length || bytes[i] == (byte)'\n')
            {
                yield return bytes[start..i];
                start = i + 1;
            }
        }
    }

    private static List<ParsedCommand> AssertSameDecisions(IEnumerable<byte[]> lines)
    {
        var decisions = new List<ParsedCommand>();
        var failures = new List<string>();
        var count = 0;
        var mismatches = 0;
        foreach (var bytes in lines)
        {
            count++;
            var expected = DocumentCommandParser.Parse(count, bytes);
            using var line = CommandLine.Parse(count, bytes);
            var actual = Describe(line);
            decisions.Add(expected);
            if (expected != actual && ++mismatches <= 5)
            {
                failures.Add($"line {Printable(bytes)}\n  old: {expected}\n  new: {actual}");
            }
        }

        Assert.True(mismatches == 0, $"{mismatches} of {count} lines decided differently, the first ones:\n" + string.Join("\n", failures));
        return decisions;
    }

    private static ParsedCommand Describe(CommandLine line) => new(
        line.Invalid,
        line.Refusal,
        line.Id,
        line.HasOwnId,
        line.AtStep,
        line.Path?.GetRawText(),
        line.Op?.GetRawText(),
        line.Args?.GetRawText(),
        line.Kwargs?.GetRawText(),
        line.PathText,
        line.PathForMessage(),
        line.OpText(),
        DocumentCommandParser.WriteEcho(
            writer =>
            {
                if (line.Path is { } path)
                {
                    path.WriteTo(writer);
                }
                else
                {
                    writer.WriteNullValue();
                }
            },
            line.WriteOp),
        line.Args is { ValueKind: not JsonValueKind.Array } || line.Kwargs is { ValueKind: not JsonValueKind.Object }
            ? "not bound"
            : DocumentCommandParser.DescribeArguments(line.Args is null ? null : line.ArgumentValues(), line.Kwargs is null ? null : line.KeywordValues() ?? []));

    private static string Printable(byte[] bytes)
    {
        var text = new StringBuilder();
        foreach (var b in bytes.Take(300))
        {
            text.Append(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"<{b:X2}>");
        }

        return text.ToString();
    }
}
