using System.Text.Json;
using System.Text.RegularExpressions;

namespace RuntimeCtl.Testing;

/// <summary>How a child process ended and everything it printed.</summary>
/// <param name="Description">The program and its arguments.</param>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Stdout">What it wrote on stdout, byte for byte.</param>
/// <param name="Stderr">What it wrote on stderr.</param>
/// <param name="TimedOut">Whether it was killed for outliving its timeout.</param>
/// <param name="Elapsed">How long it ran.</param>
public sealed record ProcessResult(string Description, int ExitCode, string Stdout, string Stderr, bool TimedOut, TimeSpan Elapsed)
{
    /// <summary>Gets the non-empty lines of stdout (without <c>\r</c>).</summary>
    public IReadOnlyList<string> StdoutLines => Lines(Stdout);

    /// <summary>Gets stdout then stderr.</summary>
    public string Output => Stdout + Stderr;

    /// <summary>Gets the single line on stdout, parsed; fails when stdout is not exactly one line.</summary>
    public JsonElement Json => TempQueueDirectory.Parse(Assert.Single(StdoutLines));

    /// <summary>Gets the stdout lines that match <paramref name="pattern"/>, as matches.</summary>
    public IReadOnlyList<Match> Matching(string pattern) =>
        [.. StdoutLines.Select(line => Regex.Match(line, pattern)).Where(match => match.Success)];

    public override string ToString() =>
        $"{Description}: exit code {ExitCode}{(TimedOut ? " (timed out, killed)" : string.Empty)} after {Elapsed.TotalSeconds:F1} s\n" +
        $"--- stdout ---\n{Tail(Stdout)}\n--- stderr ---\n{Tail(Stderr)}";

    internal static IReadOnlyList<string> Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r'))];

    internal static string Tail(string text) => text.Length > 8000 ? "..." + text[^8000..] : text;
}
