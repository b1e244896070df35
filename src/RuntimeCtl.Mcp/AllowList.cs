namespace RuntimeCtl.Mcp;

/// <summary>
/// Which controls an agent may send to. Without <c>--allow</c>: every control except the destructive ones of
/// <c>RuntimeCtl.TorchSharp</c> (<see cref="Destructive"/>). With <c>--allow</c>: only the paths a pattern matches,
/// the destructive ones included when a pattern matches them.
/// </summary>
internal sealed class AllowList
{
    /// <summary>The controls that end or rewind the run: refused unless an <c>--allow</c> pattern matches them.</summary>
    public static readonly IReadOnlyList<string> Destructive = ["train.stop", "load_ckpt"];

    private readonly IReadOnlyList<string> _patterns;

    public AllowList(IReadOnlyList<string> patterns) => _patterns = patterns;

    /// <summary>Whether a pattern is usable: non-empty, without whitespace or control characters.</summary>
    public static bool IsValidPattern(string pattern) =>
        pattern.Length is > 0 and <= 256 && !pattern.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    /// <summary>Whether the agent may send to <paramref name="path"/>.</summary>
    public bool Allows(string path) =>
        _patterns.Count == 0 ? !Destructive.Contains(path, StringComparer.Ordinal) : _patterns.Any(p => Matches(p, path));

    /// <summary>Why <paramref name="path"/> is refused, for the agent (and the person reading its transcript).</summary>
    public string Refusal(string path) => _patterns.Count == 0
        ? $"'{path}' is not allowed: it ends or rewinds the run, and this MCP server was started without --allow naming it (restart it with --allow {path} to let an agent send it). Nothing was queued."
        : $"'{path}' is not allowed: this MCP server accepts only {string.Join(", ", _patterns.Select(p => $"'{p}'"))} (its --allow patterns). Nothing was queued.";

    /// <summary>A glob match where <c>*</c> stands for any run of characters (dots too); everything else is literal and case-sensitive.</summary>
    public static bool Matches(string pattern, string path)
    {
        // Iterative glob with backtracking to the last star: linear in practice, no regex.
        int p = 0, s = 0, star = -1, mark = 0;
        while (s < path.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = s;
            }
            else if (p < pattern.Length && pattern[p] == path[s])
            {
                p++;
                s++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                s = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
