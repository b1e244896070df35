using System.Globalization;
using System.Text.Json;

namespace RuntimeCtl.Benchmarks;

/// <summary>
/// Prints one screen from BenchmarkDotNet's JSON reports (<c>--exporters json</c>): every benchmark's mean, the half
/// width of its 99.9% confidence interval, its minimum and its allocations, with the issue's target where there is one.
/// </summary>
public static class Summary
{
    private static readonly Dictionary<string, string> Targets = new(StringComparer.Ordinal)
    {
        ["Poll_NotDue_StepBased"] = "<= 3 ns, 0 B",
        ["Poll_NotDue_TimeBased"] = "<= 10 ns, 0 B",
        ["Poll_DueEmpty"] = "<= 1 us, 0 B",
        ["Poll_Drain100k"] = ">= 1,000,000 cmd/s",
        ["Status_Last20(Acks=100000)"] = "<= 5 ms (whole CLI)",
        ["Status_Last20(Acks=1000000)"] = "<= 2x the 100k time",
    };

    public static int Run(string[] args)
    {
        var directory = args.Length > 0 ? args[0] : Path.Combine("BenchmarkDotNet.Artifacts", "results");
        var files = Directory.Exists(directory) ? Directory.GetFiles(directory, "*-report-full-compressed.json") : [];
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"No BenchmarkDotNet JSON reports in '{directory}': run the benchmarks with --exporters json first.");
            return 1;
        }

        var rows = new List<string[]> { new[] { "benchmark", "mean", "+-99.9%", "min", "allocated/op", "target" } };
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var benchmark in document.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                rows.Add(Row(benchmark));
            }
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((cell, c) => c is 0 or 5 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        }

        return 0;
    }

    private static string[] Row(JsonElement benchmark)
    {
        var method = benchmark.GetProperty("Method").GetString()!;
        var type = benchmark.GetProperty("Type").GetString()!.Replace("Benchmarks", string.Empty, StringComparison.Ordinal);
        var parameters = benchmark.TryGetProperty("Parameters", out var p) ? p.GetString() : null;
        var key = string.IsNullOrEmpty(parameters) ? method : $"{method}({parameters.Replace("&", ", ", StringComparison.Ordinal)})";
        var name = $"{type}.{key}";
        Targets.TryGetValue(key, out var target);
        if (!benchmark.TryGetProperty("Statistics", out var statistics) || statistics.ValueKind != JsonValueKind.Object)
        {
            return [name, "failed", string.Empty, string.Empty, string.Empty, target ?? string.Empty];
        }

        var mean = statistics.GetProperty("Mean").GetDouble();
        var margin = statistics.GetProperty("ConfidenceInterval").GetProperty("Margin").GetDouble();
        var min = statistics.GetProperty("Min").GetDouble();
        var allocated = benchmark.TryGetProperty("Memory", out var memory) ? memory.GetProperty("BytesAllocatedPerOperation").GetInt64() : -1;
        if (method == "Poll_Drain100k")
        {
            name += string.Create(CultureInfo.InvariantCulture, $" = {100_000 / (mean / 1e9):N0} cmd/s");
        }

        return [name, Time(mean), Time(margin), Time(min), allocated < 0 ? "?" : Bytes(allocated), target ?? string.Empty];
    }

    internal static string Time(double nanoseconds) => nanoseconds switch
    {
        < 1_000 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds:F2} ns"),
        < 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e3:F2} us"),
        < 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e6:F2} ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e9:F3} s"),
    };

    private static string Bytes(long bytes) => bytes switch
    {
        < 10_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 10_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB"),
    };
}
