using System.Runtime.InteropServices;
using RuntimeCtl.Mpi;
using TorchSharp;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Mpi;

/// <summary>
/// Data-parallel training of one TorchSharp module over MPI: every rank holds a replica, computes gradients on its own
/// share of the batch, and <see cref="AverageGradients"/> makes each gradient the mean over the ranks before the
/// optimizer steps, so the replicas stay equal; <see cref="BroadcastParameters"/> makes them equal (at the start,
/// and after a checkpoint loaded on rank 0).
/// </summary>
/// <remarks>
/// CPU tensors only. The parameters are taken in <see cref="nn.Module.parameters"/> order, which is the same on every
/// rank for the same model. Gradients are packed into one buffer per element type (float32, float64), reused from
/// call to call, and reduced with one <c>MPI_Allreduce</c> each: one block copy in and one out per parameter, no
/// managed allocation in steady state. Not thread-safe: call it from the training thread, on every rank, at the same point.
/// </remarks>
public sealed class DataParallel
{
    private readonly nn.Module _module;
    private readonly MpiProcessGroup _group;
    private float[] _floats = [];
    private double[] _doubles = [];
    private byte[] _bytes = [];

    /// <summary>Initializes a new instance over <paramref name="module"/>'s parameters and buffers.</summary>
    /// <param name="module">The replica of this rank.</param>
    /// <param name="group">The job's ranks.</param>
    public DataParallel(nn.Module module, MpiProcessGroup group)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        _module = module;
        _group = group;
    }

    /// <summary>
    /// Replaces every parameter's gradient with its mean over the ranks; call it after <c>backward()</c> and before
    /// the optimizer's step, on every rank. A parameter without a gradient on this rank counts as zeros (and gets the
    /// mean), so every rank sends the same layout. On one rank it does nothing.
    /// </summary>
    /// <exception cref="NotSupportedException">A parameter is not on the CPU, or is neither float32 nor float64.</exception>
    public void AverageGradients()
    {
        if (_group.Size == 1)
        {
            return; // the mean over one rank is its own gradient
        }

        var parameters = _module.parameters().ToArray();
        long floats = 0, doubles = 0;
        foreach (var parameter in parameters)
        {
            Check(parameter);
            if (parameter.dtype == ScalarType.Float32)
            {
                floats += parameter.numel();
            }
            else
            {
                doubles += parameter.numel();
            }
        }

        var floatBuffer = Buffer(ref _floats, floats);
        var doubleBuffer = Buffer(ref _doubles, doubles);
        Pack(parameters, floatBuffer, doubleBuffer);
        _group.AllReduceSum(floatBuffer);
        _group.AllReduceSum(doubleBuffer);

        var size = _group.Size;
        for (var i = 0; i < floatBuffer.Length; i++)
        {
            floatBuffer[i] /= size;
        }

        for (var i = 0; i < doubleBuffer.Length; i++)
        {
            doubleBuffer[i] /= size;
        }

        Unpack(parameters, floatBuffer, doubleBuffer);
    }

    /// <summary>
    /// Copies rank 0's parameters and buffers (every element type) to every other rank, in one broadcast; call it on
    /// every rank after building the model and after rank 0 loaded a checkpoint, so that the ranks need not share a disk.
    /// </summary>
    /// <exception cref="NotSupportedException">A tensor is not on the CPU.</exception>
    public void BroadcastParameters()
    {
        var tensors = _module.parameters().Concat(_module.buffers()).ToArray();
        long total = 0;
        foreach (var tensor in tensors)
        {
            CheckDevice(tensor);
            total += tensor.numel() * tensor.ElementSize;
        }

        var buffer = Buffer(ref _bytes, total);
        var offset = 0;
        foreach (var tensor in tensors)
        {
            var bytes = Contiguous(tensor).bytes;
            bytes.CopyTo(buffer[offset..]);
            offset += bytes.Length;
        }

        _group.Broadcast(buffer);
        if (_group.Rank == 0)
        {
            return;
        }

        offset = 0;
        using (no_grad())
        {
            foreach (var tensor in tensors)
            {
                var length = checked((int)(tensor.numel() * tensor.ElementSize));
                tensor.bytes = buffer.Slice(offset, length);
                offset += length;
            }
        }
    }

    private static void Pack(Tensor[] parameters, Span<float> floats, Span<double> doubles)
    {
        int f = 0, d = 0;
        foreach (var parameter in parameters)
        {
            var n = checked((int)parameter.numel());
            var grad = parameter.grad;
            if (parameter.dtype == ScalarType.Float32)
            {
                Copy(grad, floats.Slice(f, n));
                f += n;
            }
            else
            {
                Copy(grad, doubles.Slice(d, n));
                d += n;
            }
        }
    }

    private static void Copy<T>(Tensor? grad, Span<T> into)
        where T : unmanaged
    {
        if (grad is null)
        {
            into.Clear();
            return;
        }

        // The raw bytes of the (contiguous, CPU) gradient: one block copy, not an element-by-element accessor.
        MemoryMarshal.Cast<byte, T>(Contiguous(grad).bytes).CopyTo(into);
    }

    private static void Unpack(Tensor[] parameters, Span<float> floats, Span<double> doubles)
    {
        int f = 0, d = 0;
        foreach (var parameter in parameters)
        {
            var n = checked((int)parameter.numel());
            if (parameter.grad is not { } grad || !grad.is_contiguous())
            {
                parameter.grad = grad = zeros_like(parameter);
            }

            if (parameter.dtype == ScalarType.Float32)
            {
                grad.bytes = MemoryMarshal.AsBytes(floats.Slice(f, n));
                f += n;
            }
            else
            {
                grad.bytes = MemoryMarshal.AsBytes(doubles.Slice(d, n));
                d += n;
            }
        }
    }

    private static Tensor Contiguous(Tensor tensor) => tensor.is_contiguous() ? tensor : tensor.contiguous();

    private static Span<T> Buffer<T>(ref T[] buffer, long length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[checked((int)length)];
        }

        return buffer.AsSpan(0, (int)length);
    }

    private static void Check(Tensor parameter)
    {
        CheckDevice(parameter);
        if (parameter.dtype is not (ScalarType.Float32 or ScalarType.Float64))
        {
            throw new NotSupportedException($"DataParallel averages float32 and float64 gradients only; a parameter of shape [{string.Join(", ", parameter.shape)}] is {parameter.dtype}.");
        }
    }

    private static void CheckDevice(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU)
        {
            throw new NotSupportedException($"DataParallel works on CPU tensors (MPI moves host memory); a tensor of shape [{string.Join(", ", tensor.shape)}] is on {tensor.device}.");
        }
    }
}
