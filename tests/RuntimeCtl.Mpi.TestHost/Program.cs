using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace RuntimeCtl.Mpi.TestHost;

/// <summary>
/// Runs under <c>mpirun</c> and exercises <see cref="MpiProcessGroup"/>. Every rank prints one line that starts with
/// <c>rank R size S</c> and a verdict, which RuntimeCtl.Mpi.Tests parses.
/// </summary>
/// <remarks>
/// Modes:
/// <list type="bullet">
/// <item><c>check</c>: barrier, broadcasts of 0, 1, 300 and 1 MiB bytes, gathers, float and double sums;
/// prints <c>rank R size S ok CHECKSUM</c> (the same checksum on every rank) or <c>rank R size S fail REASON</c>.</item>
/// <item><c>crash</c> / <c>failfast</c>: rank 1 exits with code 3 / calls <see cref="Environment.FailFast(string)"/>
/// between two collectives while the other ranks wait in a barrier; the job must end, not hang.</item>
/// <item><c>bench [ITERATIONS]</c>: prints <c>rank R size S bench NS ns/iter ITERATIONS</c> for one 64-byte
/// broadcast plus one 8-byte gather per iteration.</item>
/// <item><c>init</c>: initialises and prints <c>rank R size S init LIBRARY-VERSION</c>; an
/// <see cref="ProcessGroupException"/> prints <c>error MESSAGE</c> and exits with code 2 (every mode does that).</item>
/// <item><c>reinit</c>: initialises, disposes twice, checks that a collective then throws
/// <see cref="ObjectDisposedException"/>, initialises again; prints <c>rank R size S reinit refused MESSAGE</c>
/// when the second call throws as documented.</item>
/// <item><c>preinit</c> (Open MPI only): the program calls <c>MPI_Init</c> itself, then uses and disposes the group;
/// prints <c>rank R size S preinit ok</c> when the group reused that MPI and left it initialised.</item>
/// <item><c>usempi</c>: two controllers made with <c>UseMpi()</c>, disposed one after the other (the second twice);
/// prints <c>rank R size S usempi finalized F1 F2</c>, what <c>MPI_Finalized</c> says after each.</item>
/// <item><c>programgroup</c>: the program takes the group with <see cref="MpiProcessGroup.Initialize"/>, passes it to one
/// controller and makes another with <c>UseMpi()</c>, disposes both controllers and then the group; prints
/// <c>rank R size S programgroup finalized F1 F2</c>, what <c>MPI_Finalized</c> says after the controllers and after the group.</item>
/// </list>
/// </remarks>
internal static class Program
{
    private static int Main(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : "check";
        try
        {
            return mode switch
            {
                "check" => Check(),
                "crash" => Crash(failFast: false),
                "failfast" => Crash(failFast: true),
                "bench" => Bench(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000),
                "init" => Init(),
                "reinit" => Reinit(),
                "preinit" => Preinit(),
                "usempi" => ControllersOfUseMpi(),
                "programgroup" => ControllersOfTheProgramsGroup(),
                _ => Usage(mode),
            };
        }
        catch (ProcessGroupException ex)
        {
            Console.WriteLine($"error {ex.Message}");
            return 2;
        }
    }

    private static int Usage(string mode)
    {
        Console.Error.WriteLine($"Unknown mode '{mode}'. Usage: RuntimeCtl.Mpi.TestHost check|crash|failfast|bench [ITERATIONS]|init|reinit|preinit|usempi|programgroup");
        return 64;
    }

    private static int Init()
    {
        using var group = MpiProcessGroup.Initialize();
        Console.WriteLine($"rank {group.Rank} size {group.Size} init {group.LibraryVersion.ReplaceLineEndings(" ")}");
        return 0;
    }

    private static int Reinit()
    {
        var group = MpiProcessGroup.Initialize();
        var prefix = $"rank {group.Rank} size {group.Size}";
        group.Dispose();
        group.Dispose();
        try
        {
            group.Barrier();
            Console.WriteLine($"{prefix} fail Barrier() after Dispose() did not throw");
            return 1;
        }
        catch (ObjectDisposedException)
        {
        }

        try
        {
            MpiProcessGroup.Initialize();
        }
        catch (ProcessGroupException ex)
        {
            Console.WriteLine($"{prefix} reinit refused {ex.Message}");
            return 0;
        }

        Console.WriteLine($"{prefix} fail a second Initialize() after Dispose() did not throw");
        return 1;
    }

    private static unsafe int Preinit()
    {
        var library = NativeLibrary.Load("libmpi.so.40");
        var init = (delegate* unmanaged<int*, byte***, int>)NativeLibrary.GetExport(library, "MPI_Init");
        var finalized = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(library, "MPI_Finalized");
        var finalize = (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "MPI_Finalize");
        if (init(null, null) != 0)
        {
            Console.WriteLine("fail MPI_Init");
            return 1;
        }

        var group = MpiProcessGroup.Initialize();
        var prefix = $"rank {group.Rank} size {group.Size}";
        var values = new double[] { 1 };
        group.AllReduceSum(values);
        group.Dispose();
        int flag;
        _ = finalized(&flag);
        if (values[0] != group.Size || flag != 0)
        {
            Console.WriteLine($"{prefix} fail sum {values[0]}, finalized {flag}");
            return 1;
        }

        _ = finalize();
        Console.WriteLine($"{prefix} preinit ok");
        return 0;
    }

    private static int ControllersOfUseMpi()
    {
        var first = new RuntimeController<object?>(new RuntimeControllerOptions().UseMpi());
        var second = new RuntimeController<object?>(new RuntimeControllerOptions().UseMpi());
        var prefix = $"rank {first.Rank} size {first.ProcessGroup.Size}";
        first.Dispose();
        var afterFirst = MpiFinalized();
        second.ProcessGroup.Barrier();
        second.Dispose();
        second.Dispose();
        Console.WriteLine($"{prefix} usempi finalized {afterFirst} {MpiFinalized()}");
        return 0;
    }

    private static int ControllersOfTheProgramsGroup()
    {
        var group = MpiProcessGroup.Initialize();
        var prefix = $"rank {group.Rank} size {group.Size}";
        var given = new RuntimeController<object?>(new RuntimeControllerOptions { ProcessGroup = group });
        var viaUseMpi = new RuntimeController<object?>(new RuntimeControllerOptions().UseMpi());
        given.Dispose();
        viaUseMpi.Dispose();
        var afterControllers = MpiFinalized();
        group.Barrier();
        group.Dispose();
        Console.WriteLine($"{prefix} programgroup finalized {afterControllers} {MpiFinalized()}");
        return 0;
    }

    /// <summary>Asks Open MPI's <c>MPI_Finalized</c> (callable before and after <c>MPI_Finalize</c>): 1 once MPI is finalized, else 0.</summary>
    private static unsafe int MpiFinalized()
    {
        var finalized = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(NativeLibrary.Load("libmpi.so.40"), "MPI_Finalized");
        int flag;
        return finalized(&flag) == 0 ? flag : -1;
    }

    private static int Check()
    {
        using var group = MpiProcessGroup.Initialize();
        var prefix = $"rank {group.Rank} size {group.Size}";
        var hash = new Fnv1a();
        try
        {
            if (!ReferenceEquals(group, MpiProcessGroup.Initialize()))
            {
                throw new InvalidOperationException("a second Initialize() returned another instance");
            }

            // The runtime turns SIGSEGV and SIGFPE into exceptions; MPI must not have taken those signals over.
            try
            {
                _ = ((object?)null)!.GetHashCode();
            }
            catch (NullReferenceException)
            {
                hash.Add([1]);
            }

            try
            {
                var zero = group.Rank - group.Rank;
                _ = group.Size / zero;
            }
            catch (DivideByZeroException)
            {
                hash.Add([2]);
            }

            group.Barrier();
            foreach (var size in (ReadOnlySpan<int>)[0, 1, 300, 1 << 20])
            {
                var buffer = new byte[size];
                if (group.Rank == 0)
                {
                    FillPattern(buffer, size);
                }
                else
                {
                    buffer.AsSpan().Fill(0xEE);
                }

                group.Broadcast(buffer);
                var expected = new byte[size];
                FillPattern(expected, size);
                Require(buffer.AsSpan().SequenceEqual(expected), $"broadcast of {size} bytes differs from rank 0's");
                hash.Add(buffer);
            }

            foreach (var blockSize in (ReadOnlySpan<int>)[0, 24])
            {
                var block = new byte[blockSize];
                for (var i = 0; i < blockSize; i++)
                {
                    block[i] = (byte)((group.Rank * 7) + i);
                }

                var receive = group.Rank == 0 ? new byte[group.Size * blockSize] : [];
                group.Gather(block, receive);
                if (group.Rank == 0)
                {
                    for (var r = 0; r < group.Size; r++)
                    {
                        for (var i = 0; i < blockSize; i++)
                        {
                            Require(receive[(r * blockSize) + i] == (byte)((r * 7) + i), $"gathered block {r} byte {i} is wrong");
                        }
                    }
                }
            }

            var rankSum = group.Size * (group.Size - 1) / 2;
            var floats = new float[5];
            for (var i = 0; i < floats.Length; i++)
            {
                floats[i] = group.Rank + (i * 0.5f);
            }

            group.AllReduceSum(floats);
            for (var i = 0; i < floats.Length; i++)
            {
                Require(floats[i] == rankSum + (group.Size * i * 0.5f), $"float sum {i} is {floats[i]}");
            }

            var doubles = new double[1000];
            for (var i = 0; i < doubles.Length; i++)
            {
                doubles[i] = group.Rank * 1000.0 + i;
            }

            group.AllReduceSum(doubles);
            for (var i = 0; i < doubles.Length; i++)
            {
                Require(doubles[i] == (rankSum * 1000.0) + ((double)group.Size * i), $"double sum {i} is {doubles[i]}");
            }

            group.AllReduceSum(Span<float>.Empty);
            hash.Add(MemoryMarshal.AsBytes(floats.AsSpan()));
            hash.Add(MemoryMarshal.AsBytes(doubles.AsSpan()));
            group.Barrier();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ProcessGroupException or ArgumentException)
        {
            Console.WriteLine($"{prefix} fail {ex.Message.ReplaceLineEndings(" ")}");
            Console.Out.Flush();

            // Exit without finalizing: the other ranks may be blocked in a collective, and mpirun ends the job
            // when a rank exits with a non-zero code.
            Environment.Exit(1);
            return 1;
        }

        Console.WriteLine($"{prefix} ok {hash.Value:x16}");
        return 0;
    }

    private static int Crash(bool failFast)
    {
        using var group = MpiProcessGroup.Initialize();
        group.Barrier();
        if (group.Rank == 1)
        {
            Console.WriteLine($"rank 1 size {group.Size} crashing");
            Console.Out.Flush();
            if (failFast)
            {
                Environment.FailFast("RuntimeCtl.Mpi.TestHost: rank 1 fails on purpose");
            }

            Environment.Exit(3);
        }

        // Rank 1 never reaches this barrier: the launcher has to end the job.
        for (var i = 0; i < 3; i++)
        {
            group.Barrier();
        }

        Console.WriteLine($"rank {group.Rank} size {group.Size} survived");
        return 0;
    }

    private static int Bench(int iterations)
    {
        using var group = MpiProcessGroup.Initialize();
        var payload = new byte[64];
        var block = new byte[8];
        var receive = new byte[group.Size * block.Length];
        for (var i = 0; i < Math.Max(10, iterations / 10); i++)
        {
            group.Broadcast(payload);
            group.Gather(block, receive);
        }

        group.Barrier();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < iterations; i++)
        {
            group.Broadcast(payload);
            group.Gather(block, receive);
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        group.Barrier();
        var nanoseconds = elapsed.TotalNanoseconds / iterations;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {group.Rank} size {group.Size} bench {nanoseconds:F0} ns/iter {iterations}"));
        return 0;
    }

    private static void FillPattern(Span<byte> buffer, int seed)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (byte)((i * 31) + seed);
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    private sealed class Fnv1a
    {
        public ulong Value { get; private set; } = 14695981039346656037UL;

        public void Add(ReadOnlySpan<byte> data)
        {
            var value = Value;
            foreach (var b in data)
            {
                value = (value ^ b) * 1099511628211UL;
            }

            Value = value;
        }
    }
}
