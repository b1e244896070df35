using System.Runtime.Loader;
using TorchSharpTraining;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>The sample's data set: the project's own text, split by chunk, drawn in an order fixed by the seed.</summary>
public sealed class CharCorpusTests
{
    private const int Context = 8;

    // 25 chunks: chunks 9 and 19 are held out, and the last one is short.
    private static readonly string Text = string.Concat(Enumerable.Range(0, 25 * CharCorpus.ChunkLength / 40).Select(i => $"line {i:D5}: the quick brown fox é jumps\n"));

    [Fact]
    public void SampleTraining_SameSeed_DrawsTheSameWindows()
    {
        var first = Draw(new CharCorpus(Text, Context, seed: 3), batches: 5);
        var again = Draw(new CharCorpus(Text, Context, seed: 3), batches: 5);
        var other = Draw(new CharCorpus(Text, Context, seed: 4), batches: 5);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Starts_EveryWindow_StaysInOneChunkOfItsSplit()
    {
        var corpus = new CharCorpus(Text, Context, seed: 1);

        // A window covers [start, start + Context]; both ends in the same chunk, and that chunk is of its split.
        Assert.All(corpus.TrainStarts.ToArray(), s => Assert.False(InOneChunk(s, out var chunk) && CharCorpus.IsValidationChunk(chunk), $"train window at {s}"));
        Assert.All(corpus.TrainStarts.ToArray(), s => Assert.True(InOneChunk(s, out _), $"train window at {s} crosses a chunk"));
        Assert.All(corpus.ValidationStarts.ToArray(), s => Assert.True(InOneChunk(s, out var chunk) && CharCorpus.IsValidationChunk(chunk), $"validation window at {s}"));
        var trainCharacters = corpus.TrainStarts.ToArray().SelectMany(s => Enumerable.Range(s, Context + 1)).ToHashSet();
        Assert.DoesNotContain(corpus.ValidationStarts.ToArray().SelectMany(s => Enumerable.Range(s, Context + 1)), trainCharacters.Contains);
        Assert.Equal(2 * (CharCorpus.ChunkLength - Context), corpus.ValidationStarts.Length);
    }

    [Fact]
    public void SampleTraining_Windows_AreTheTextEncodedAsVocabularyIndices()
    {
        var corpus = new CharCorpus(Text, Context, seed: 5);
        var windows = Draw(corpus, batches: 20);

        Assert.Equal(corpus.Vocabulary.Order().ToArray(), corpus.Vocabulary.ToArray());
        Assert.Contains('é', corpus.Vocabulary);
        for (var w = 0; w < windows.Length; w += Context + 1)
        {
            var decoded = new string([.. windows.AsSpan(w, Context + 1).ToArray().Select(code => corpus.Vocabulary[(int)code])]);
            Assert.Contains(decoded, Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validation_Count_IsFixedAndSpreadOverTheHeldOutText()
    {
        var corpus = new CharCorpus(Text, Context, seed: 1);

        var windows = corpus.Validation(100);

        Assert.Equal(100 * (Context + 1), windows.Length);
        Assert.Equal(windows, new CharCorpus(Text, Context, seed: 99).Validation(100));
        Assert.Equal(corpus.ValidationStarts.Length * (Context + 1), corpus.Validation(int.MaxValue).Length);
    }

    [Fact]
    public void Constructor_TextShorterThanTenChunks_ThrowsBecauseNothingIsHeldOut()
    {
        var error = Assert.Throws<ArgumentException>(() => new CharCorpus(Text[..(5 * CharCorpus.ChunkLength)], Context, seed: 1));

        Assert.Contains("too short", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadEmbedded_SampleAssembly_HoldsTheProjectsDocsAndSources()
    {
        // The built sample, loaded only to read its resources (its own context, so nothing of it runs here).
        var context = new AssemblyLoadContext("sample-corpus", isCollectible: true);
        try
        {
            var sample = context.LoadFromAssemblyPath(TestPaths.TorchSharpTraining);
            var names = sample.GetManifestResourceNames();

            var text = CharCorpus.LoadEmbedded(sample);

            Assert.Contains("corpus/README.md", names);
            Assert.Contains("corpus/samples/TorchSharpTraining/CharCorpus.cs", names);
            Assert.Contains("corpus/src/RuntimeCtl/Queue/CommandSender.cs", names);
            Assert.Contains("corpus/docs/queue-format.md", names);
            Assert.DoesNotContain(names, n => n.Contains("/obj/", StringComparison.Ordinal) || n.Contains("/bin/", StringComparison.Ordinal));
            Assert.Contains("# RuntimeCtl", text, StringComparison.Ordinal);
            Assert.Contains("namespace RuntimeCtl", text, StringComparison.Ordinal);
            Assert.DoesNotContain('\r', text);
            Assert.True(text.Length > 200_000, $"The corpus has {text.Length} characters.");
            Assert.Equal(text, CharCorpus.LoadEmbedded(sample));
        }
        finally
        {
            context.Unload();
        }
    }

    private static long[] Draw(CharCorpus corpus, int batches)
    {
        var windows = new long[batches * 4 * (Context + 1)];
        for (var b = 0; b < batches; b++)
        {
            corpus.SampleTraining(windows.AsSpan(b * 4 * (Context + 1), 4 * (Context + 1)));
        }

        return windows;
    }

    private static bool InOneChunk(int start, out int chunk)
    {
        chunk = start / CharCorpus.ChunkLength;
        return (start + Context) / CharCorpus.ChunkLength == chunk;
    }
}
