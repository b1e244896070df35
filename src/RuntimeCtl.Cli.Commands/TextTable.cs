using System.Text;

namespace RuntimeCtl.Cli;

/// <summary>A plain-text table for a terminal: left-aligned columns, long cells cut short, no trailing spaces.</summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly int[] _maxWidths;
    private readonly List<string[]> _rows = [];

    /// <summary>Creates a table; a column's cells are cut to its maximum width (0: no limit).</summary>
    public TextTable(params (string Header, int MaxWidth)[] columns)
    {
        _headers = columns.Select(c => c.Header).ToArray();
        _maxWidths = columns.Select(c => c.MaxWidth).ToArray();
    }

    public void Add(params string[] cells) => _rows.Add(cells);

    public void WriteTo(TextWriter output, string indent = "")
    {
        var rows = _rows.Select(r => r.Select((cell, i) => Cut(Flatten(cell), _maxWidths[i])).ToArray()).ToList();
        var widths = _headers.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        foreach (var row in rows.Prepend(_headers))
        {
            var line = new StringBuilder(indent);
            for (var i = 0; i < row.Length; i++)
            {
                line.Append(i < row.Length - 1 ? row[i].PadRight(widths[i] + 2) : row[i]);
            }

            output.WriteLine(line.ToString().TrimEnd());
        }
    }

    private static string Flatten(string cell) => cell.ReplaceLineEndings(" ").Replace('\t', ' ');

    private static string Cut(string cell, int max) => max > 1 && cell.Length > max ? string.Concat(cell.AsSpan(0, max - 1), "…") : cell;
}
