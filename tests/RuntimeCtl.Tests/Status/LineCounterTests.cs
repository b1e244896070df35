using System.Text;

namespace RuntimeCtl.Tests.Status;

public sealed class LineCounterTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    private string Write(string text)
    {
        _q.Create();
        var path = Path.Combine(_q.Dir, "f.jsonl");
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("a\n", 1)]
    [InlineData("a\nb", 1)]
    [InlineData("\n\n\n", 3)]
    [InlineData("a\r\nb\r\n", 2)]
    public void Count_SmallFile_CountsCompleteLines(string text, long lines)
    {
        var count = LineCounter.Count(Write(text));

        Assert.Equal(lines, count.Lines);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), count.Length);
        Assert.False(count.FromController);
    }

    [Fact]
    public void Count_FileLargerThanSeveralBlocks_CountsEveryLine()
    {
        var line = new string('x', 99) + "\n";
        var text = string.Concat(Enumerable.Repeat(line, 10_000)) + "tail";

        var count = LineCounter.Count(Write(text));

        Assert.Equal(10_000, count.Lines);
        Assert.True(count.Length > 3 * LineCounter.BlockSize);
    }

    [Fact]
    public void Count_KnownPrefix_CountsOnlyTheRestAndAgrees()
    {
        var path = Write("a\nb\nc\nd\n");

        var fromStart = LineCounter.Count(path);
        var fromPrefix = LineCounter.Count(path, knownLines: 2, knownBytes: 4);

        Assert.True(fromPrefix.FromController);
        Assert.Equal(fromStart.Lines, fromPrefix.Lines);
    }

    [Theory]
    [InlineData(2, 3)]
    [InlineData(2, 100)]
    [InlineData(-1, 4)]
    [InlineData(1, 0)]
    [InlineData(5, 4)]
    public void Count_FiguresThatDisagreeWithTheFile_AreIgnored(long lines, long bytes)
    {
        var path = Write("a\nb\nc\nd\n");

        var count = LineCounter.Count(path, lines, bytes);

        Assert.False(count.FromController);
        Assert.Equal(4, count.Lines);
    }

    [Fact]
    public void Count_MissingFile_IsZero()
    {
        var count = LineCounter.Count(Path.Combine(_q.Root, "missing.jsonl"), 3, 10);

        Assert.Equal(new LineCount(0, 0, false), count);
    }
}
