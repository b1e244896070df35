using System.Text.Json;

namespace RuntimeCtl;

/// <summary>One reported point of <c>metrics.jsonl</c>.</summary>
/// <param name="Step">The step it was reported at.</param>
/// <param name="Value">The value.</param>
/// <param name="Ts">When it was reported, in seconds since the Unix epoch.</param>
public readonly record struct MetricPoint(long Step, double Value, double Ts);

/// <summary>The points of one metric, oldest first.</summary>
/// <param name="Name">The metric's name (<c>loss</c>).</param>
/// <param name="Points">Its points, in the order they were reported.</param>
public sealed record MetricSeries(string Name, IReadOnlyList<MetricPoint> Points);

/// <summary>Reads <c>metrics.1.jsonl</c> (the rotated history) then <c>metrics.jsonl</c>; lines that are not points are skipped.</summary>
public static class MetricsReader
{
    /// <summary>The points of each metric, by name in order of first appearance, filtered by name and first step.</summary>
    /// <param name="queueDirectory">The queue directory.</param>
    /// <param name="name">Only this metric, or <see langword="null"/> for all.</param>
    /// <param name="sinceStep">Only points at this step or later.</param>
    public static IReadOnlyList<MetricSeries> Read(string queueDirectory, string? name = null, long sinceStep = long.MinValue)
    {
        var series = new Dictionary<string, List<MetricPoint>>(StringComparer.Ordinal);
        foreach (var file in (string[])[MetricsWriter.RotatedFileName, MetricsWriter.FileName])
        {
            byte[] bytes;
            try
            {
                // Never blocks on a FIFO planted at the name, never follows a symlink there.
                using var stream = new FileStream(NativeFile.OpenRead(Path.Combine(queueDirectory, file)), FileAccess.Read, bufferSize: 1);
                bytes = new byte[stream.Length];
                stream.ReadExactly(bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            ReadOnlySpan<byte> rest = bytes;
            int newline;
            while ((newline = rest.IndexOf((byte)'\n')) >= 0)
            {
                if (TryParse(rest[..newline], out var metric, out var point) && point.Step >= sinceStep && (name is null || metric == name))
                {
                    if (!series.TryGetValue(metric, out var points))
                    {
                        series[metric] = points = [];
                    }

                    points.Add(point);
                }

                rest = rest[(newline + 1)..];
            }
        }

        return [.. series.Select(s => new MetricSeries(s.Key, s.Value))];
    }

    /// <summary>Parses one line <c>{"step","ts","name","value"}</c>.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> line, out string name, out MetricPoint point)
    {
        name = string.Empty;
        point = default;
        long? step = null;
        double? value = null;
        double ts = 0;
        string? found = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.ValueSpan;
                var key = property.SequenceEqual("step"u8) ? 0 : property.SequenceEqual("value"u8) ? 1 : property.SequenceEqual("name"u8) ? 2 : property.SequenceEqual("ts"u8) ? 3 : -1;
                reader.Read();
                switch (key)
                {
                    case 0 when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var s):
                        step = s;
                        break;
                    case 1 when reader.TokenType == JsonTokenType.Number:
                        value = reader.GetDouble();
                        break;
                    case 2 when reader.TokenType == JsonTokenType.String:
                        found = reader.GetString();
                        break;
                    case 3 when reader.TokenType == JsonTokenType.Number:
                        ts = reader.GetDouble();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        if (step is null || value is null || found is null)
        {
            return false;
        }

        name = found;
        point = new MetricPoint(step.Value, value.Value, ts);
        return true;
    }

    /// <summary>At most about <paramref name="max"/> points, evenly spaced, always keeping the first and the last.</summary>
    /// <param name="points">The points.</param>
    /// <param name="max">How many to keep at most (2 or more).</param>
    public static IReadOnlyList<MetricPoint> Downsample(IReadOnlyList<MetricPoint> points, int max)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 2);
        if (points.Count <= max)
        {
            return points;
        }

        var stride = (points.Count + max - 2) / (max - 1);
        var kept = new List<MetricPoint>(max + 1);
        for (var i = 0; i < points.Count - 1; i += stride)
        {
            kept.Add(points[i]);
        }

        kept.Add(points[^1]);
        return kept;
    }
}
