using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>
/// The last acks of <c>acks.jsonl</c>, read from the end of the file: only as many lines as it takes to find the
/// acks asked for. Lines are cut as the trainer cuts them (<see cref="LineText"/>); a line that is not a JSON object is
/// counted and skipped, never fatal.
/// </summary>
public sealed class AckTail
{
    private static readonly AckTail Empty = new([], 0, null);

    private AckTail(IReadOnlyList<JsonElement> acks, int badLines, string? firstProblem)
    {
        Acks = acks;
        BadLines = badLines;
        FirstProblem = firstProblem;
    }

    /// <summary>A tail read elsewhere (a dashboard's reply), from its parts.</summary>
    /// <param name="acks">The acks, oldest first.</param>
    /// <param name="badLines">The number of lines that are not JSON objects.</param>
    /// <param name="firstProblem">What was wrong with the newest bad line, or <see langword="null"/>.</param>
    public static AckTail FromParts(IReadOnlyList<JsonElement> acks, int badLines, string? firstProblem) => new(acks, badLines, firstProblem);

    /// <summary>Gets the acks found, oldest first.</summary>
    public IReadOnlyList<JsonElement> Acks { get; }

    /// <summary>Gets the number of lines among those read that are not JSON objects.</summary>
    public int BadLines { get; }

    /// <summary>Gets what was wrong with the newest bad line, or <see langword="null"/> when none was bad.</summary>
    public string? FirstProblem { get; }

    /// <summary>Reads the last <paramref name="count"/> acks of <paramref name="path"/> (fewer if the file has fewer; none if it is missing).</summary>
    /// <param name="path">The acks file.</param>
    /// <param name="count">How many acks to return at most.</param>
    /// <param name="upTo">Reads only the lines before this offset (the length at which the file's lines were counted), so that the acks and the count agree.</param>
    public static AckTail Read(string path, int count, long upTo = long.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0)
        {
            return Empty;
        }

        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = NativeFile.OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Empty;
        }

        using (handle)
        {
            var scanner = new BackwardLineScanner(handle, Math.Min(RandomAccess.GetLength(handle), upTo));
            var acks = new List<JsonElement>(Math.Min(count, 1024));
            var bad = 0;
            string? problem = null;
            while (acks.Count < count && scanner.TryPrevious(out var start, out var end))
            {
                if (end - start > LineText.MaxReadBytes)
                {
                    bad++;
                    problem ??= $"the line at byte {start} is {end - start} bytes long";
                    continue;
                }

                var bytes = new byte[end - start];
                var read = 0;
                while (read < bytes.Length)
                {
                    var n = RandomAccess.Read(handle, bytes.AsSpan(read), start + read);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }

                var line = LineText.Trim(bytes.AsSpan(0, read), start);
                if (line.IsEmpty)
                {
                    continue;
                }

                if (TryParse(bytes.AsMemory(LineText.OffsetIn(bytes, line), line.Length), out var ack, out var error))
                {
                    acks.Add(ack);
                }
                else
                {
                    bad++;
                    problem ??= $"the line at byte {start.ToString(CultureInfo.InvariantCulture)} {error}";
                }
            }

            acks.Reverse();
            return new AckTail(acks, bad, problem);
        }
    }

    /// <summary>Finds what cannot be written back out: a number beyond double, a key or string with a lone surrogate.</summary>
    private static string? FindProblem(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsValidText(property))
                    {
                        return "a key contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
                    }

                    if (FindProblem(property.Value) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (FindProblem(item) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Number:
                return element.TryGetDouble(out var value) && double.IsFinite(value)
                    ? null
                    : $"the number {CommandLine.Shorten(element.GetRawText())} is out of range (it overflows to infinity)";
            case JsonValueKind.String:
                try
                {
                    _ = element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return "a string contains a lone surrogate (\\ud800-\\udfff escape without its pair)";
                }

            default:
                return null;
        }
    }

    private static bool IsValidText(JsonProperty property)
    {
        try
        {
            _ = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryParse(ReadOnlyMemory<byte> line, out JsonElement ack, out string? error)
    {
        ack = default;
        try
        {
            using var document = JsonDocument.Parse(line, JsonFormat.DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "is JSON but not an object";
                return false;
            }

            // Lone surrogates and numbers beyond double parse but cannot be written back out: a corrupt line too.
            if (FindProblem(document.RootElement) is { } problem)
            {
                error = "is not usable JSON (" + problem + ")";
                return false;
            }

            ack = document.RootElement.Clone();
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = "is not valid JSON (" + e.Message + ")";
            return false;
        }
        catch (InvalidOperationException e)
        {
            error = "is not valid JSON (" + e.Message + ")";
            return false;
        }
    }
}
