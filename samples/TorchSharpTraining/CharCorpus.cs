using System.Reflection;
using System.Text;

namespace TorchSharpTraining;

/// <summary>
/// A character-level language-modelling data set over text the project owns (its documentation and its sources,
/// embedded in the sample at build time), so the sample downloads nothing. The text is cut into chunks of
/// <see cref="ChunkLength"/> characters; every tenth chunk is held out for validation, and a window never crosses a
/// chunk, so no training window overlaps a validation one. A window is <see cref="Context"/> characters of input and
/// the character that follows as the target.
/// </summary>
internal sealed class CharCorpus
{
    /// <summary>The characters a chunk holds; windows stay inside one chunk.</summary>
    public const int ChunkLength = 1024;

    private const string ResourcePrefix = "corpus/";

    private readonly int[] _codes;
    private readonly int[] _trainStarts;
    private readonly int[] _validationStarts;
    private readonly Random _sampler;

    /// <summary>Initializes a corpus over <paramref name="text"/>; <paramref name="seed"/> fixes the order windows are drawn in.</summary>
    public CharCorpus(string text, int context, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        Context = context;
        Vocabulary = [.. text.Distinct().Order()];
        var index = new Dictionary<char, int>(Vocabulary.Count);
        for (var i = 0; i < Vocabulary.Count; i++)
        {
            index[Vocabulary[i]] = i;
        }

        _codes = new int[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            _codes[i] = index[text[i]];
        }

        var train = new List<int>();
        var validation = new List<int>();
        for (int chunk = 0, start = 0; start < text.Length; chunk++, start += ChunkLength)
        {
            var end = Math.Min(start + ChunkLength, text.Length);
            var starts = IsValidationChunk(chunk) ? validation : train;
            for (var s = start; s + context < end; s++)
            {
                starts.Add(s);
            }
        }

        _trainStarts = [.. train];
        _validationStarts = [.. validation];
        if (_trainStarts.Length == 0 || _validationStarts.Length == 0)
        {
            throw new ArgumentException($"The text ({text.Length} characters) is too short for a training and a validation split.", nameof(text));
        }

        _sampler = new Random(seed);
    }

    /// <summary>Gets the input characters of a window.</summary>
    public int Context { get; }

    /// <summary>Gets the distinct characters of the text, in ordinal order: a character's code is its index.</summary>
    public IReadOnlyList<char> Vocabulary { get; }

    /// <summary>Gets the first positions of the training windows.</summary>
    public ReadOnlySpan<int> TrainStarts => _trainStarts;

    /// <summary>Gets the first positions of the validation windows.</summary>
    public ReadOnlySpan<int> ValidationStarts => _validationStarts;

    /// <summary>Whether chunk <paramref name="chunk"/> (0-based) is held out: every tenth one.</summary>
    public static bool IsValidationChunk(int chunk) => chunk % 10 == 9;

    /// <summary>Reads the text embedded in <paramref name="assembly"/> under <c>corpus/</c>, resources in ordinal order of their names.</summary>
    public static string LoadEmbedded(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            text.Append(reader.ReadToEnd().ReplaceLineEndings("\n")).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Fills <paramref name="windows"/> (a multiple of <see cref="Context"/> + 1 long) with training windows drawn at random.</summary>
    public void SampleTraining(Span<long> windows)
    {
        for (var w = 0; w < windows.Length; w += Context + 1)
        {
            Copy(_trainStarts[_sampler.Next(_trainStarts.Length)], windows.Slice(w, Context + 1));
        }
    }

    /// <summary>Returns <paramref name="count"/> validation windows (each <see cref="Context"/> + 1 long, one after the other) spread evenly over the held-out text.</summary>
    public long[] Validation(int count)
    {
        count = Math.Min(count, _validationStarts.Length);
        var windows = new long[count * (Context + 1)];
        for (var i = 0; i < count; i++)
        {
            Copy(_validationStarts[(int)((long)i * _validationStarts.Length / count)], windows.AsSpan(i * (Context + 1), Context + 1));
        }

        return windows;
    }

    private void Copy(int start, Span<long> window)
    {
        for (var i = 0; i < window.Length; i++)
        {
            window[i] = _codes[start + i];
        }
    }
}
