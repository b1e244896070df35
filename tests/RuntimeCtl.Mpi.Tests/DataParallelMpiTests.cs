using System.Text.Json;

namespace RuntimeCtl.Mpi.Tests;

/// <summary>
/// <c>RuntimeCtl.TorchSharp.Mpi.DataParallel</c> under real mpirun, on a TorchSharp module with float32 and float64
/// parameters of several shapes (a scalar, a matrix, a vector, a 3-d tensor) and an int64 buffer.
/// </summary>
public sealed class DataParallelMpiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static string TorchHost =>
        TestPaths.Recorded("TorchHostPath");

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void AverageGradients_EveryRank_GetsTheMeanOfEveryElement(int ranks)
    {
        var run = MpiRun.OpenMpi(ranks, TorchHost, ["average"], timeout: Timeout);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = Lines(run);
        Assert.Equal(Enumerable.Range(0, ranks), lines.Select(l => l.GetProperty("rank").GetInt32()).Order());
        var shapes = new HashSet<string>();
        foreach (var line in lines)
        {
            var parameters = line.GetProperty("params").EnumerateArray().ToArray();
            for (var p = 0; p < parameters.Length; p++)
            {
                var dtype = parameters[p].GetProperty("dtype").GetString();
                shapes.Add(dtype + parameters[p].GetProperty("shape").GetRawText());
                var grad = parameters[p].GetProperty("grad").EnumerateArray().Select(g => g.GetDouble()).ToArray();
                for (var i = 0; i < grad.Length; i++)
                {
                    // By hand: the host set element i of parameter p on rank r to (r + 1) * (100 p + i + 1) * 0.1.
                    var expected = Enumerable.Range(0, ranks).Select(r => dtype == "Float32" ? (float)Gradient(r, p, i) : Gradient(r, p, i)).Sum() / ranks;
                    Assert.True(
                        Math.Abs(grad[i] - expected) <= Math.Abs(expected) * (dtype == "Float32" ? 1e-6 : 1e-14),
                        $"rank {line.GetProperty("rank")}, parameter {p} ({dtype}), element {i}: {grad[i]:R}, expected {expected:R}");
                }
            }
        }

        Assert.Equal(["Float32[4,3]", "Float32[4]", "Float32[]", "Float64[2,3,2]"], shapes.Order(StringComparer.Ordinal));
    }

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void BroadcastParameters_ReplicasThatDiffer_AllBecomeRankZeros(int ranks)
    {
        var run = MpiRun.OpenMpi(ranks, TorchHost, ["broadcast"], timeout: Timeout);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = Lines(run).OrderBy(l => l.GetProperty("rank").GetInt32()).ToArray();
        Assert.Equal(ranks, lines.Length);
        var rankZero = lines[0].GetProperty("before").GetString();
        Assert.All(lines.Skip(1), l => Assert.NotEqual(rankZero, l.GetProperty("before").GetString()));
        Assert.All(lines, l => Assert.Equal(rankZero, l.GetProperty("after").GetString()));
        Assert.All(lines, l => Assert.Equal(0, l.GetProperty("count").GetInt64())); // the int64 buffer too
    }

    private static double Gradient(int rank, int parameter, int element) => (rank + 1) * ((parameter * 100) + element + 1) * 0.1;

    private static JsonElement[] Lines(ProcessResult run) =>
        [.. run.StdoutLines.Select(l => l.IndexOf("{\"rank\"", StringComparison.Ordinal)).Zip(run.StdoutLines).Where(p => p.First >= 0).Select(p => JsonDocument.Parse(p.Second[p.First..]).RootElement.Clone())];
}
