namespace RuntimeCtl;

/// <summary>The registered paths closest to a mistyped one (edit distance, or one containing the other).</summary>
internal static class PathSuggestions
{
    /// <summary>Returns up to <paramref name="max"/> of <paramref name="candidates"/> close to <paramref name="path"/>, closest first.</summary>
    public static IReadOnlyList<string> Closest(string path, IEnumerable<string> candidates, int max = 3)
    {
        var wanted = path.ToUpperInvariant();
        return candidates
            .Distinct(StringComparer.Ordinal)
            .Select(c => (Path: c, Distance: Distance(wanted, c.ToUpperInvariant())))
            .Where(c => c.Distance <= Math.Max(2, Math.Min(wanted.Length, c.Path.Length) / 3) || Contains(c.Path, path))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Path, StringComparer.Ordinal)
            .Take(max)
            .Select(c => c.Path)
            .ToArray();
    }

    /// <summary>The Levenshtein distance: insertions, deletions and substitutions.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    // 'lr.multiplier' for 'optimizer.lr.multiplier', 'dropout' for 'model.dropout.p'.
    private static bool Contains(string candidate, string path) =>
        path.Length >= 3 && (candidate.Contains(path, StringComparison.OrdinalIgnoreCase) || (candidate.Length >= 3 && path.Contains(candidate, StringComparison.OrdinalIgnoreCase)));
}
