using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>Snapshots and comparisons of real TorchSharp state, down to the bit.</summary>
internal static class TorchAssert
{
    /// <summary>Copies the current values of <paramref name="parameters"/> (detached clones, to dispose with the scope).</summary>
    public static List<Tensor> Snapshot(IEnumerable<Tensor> parameters) => [.. parameters.Select(p => p.detach().clone())];

    /// <summary>Asserts that every parameter still holds exactly the snapshot's bits.</summary>
    public static void BitEqual(IReadOnlyList<Tensor> expected, IEnumerable<Tensor> actual)
    {
        var current = actual.ToList();
        Assert.Equal(expected.Count, current.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].shape.SequenceEqual(current[i].shape), $"Tensor {i} changed shape.");
            Assert.Equal(Bytes(expected[i]), Bytes(current[i]));
        }
    }

    /// <summary>Gets the raw bytes of a CPU tensor.</summary>
    public static byte[] Bytes(Tensor tensor) => tensor.contiguous().bytes.ToArray();

    /// <summary>Gets the optimizer's full serialized state (options, moments, step counts).</summary>
    public static byte[] StateBytes(OptimizerHelper optimizer)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            optimizer.save_state_dict(writer);
        }

        return buffer.ToArray();
    }

    private static string Values(Tensor tensor) =>
        "[" + string.Join(", ", tensor.to_type(ScalarType.Float64).data<double>().ToArray()) + "]";

    /// <summary>Asserts that two floating-point tensors are equal within a tight relative tolerance.</summary>
    public static void Close(Tensor expected, Tensor actual, double relative = 1e-6)
    {
        Assert.True(
            expected.allclose(actual, rtol: relative, atol: 1e-9),
            $"Expected {Values(expected)} but got {Values(actual)}.");
    }
}
