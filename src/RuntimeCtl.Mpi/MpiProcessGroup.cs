namespace RuntimeCtl.Mpi;

/// <summary>
/// The ranks of an MPI job (<c>mpirun -np N</c>) as an <see cref="IProcessGroup"/>, over the system's Open MPI
/// (<c>libmpi.so.40</c>) or MPICH (<c>libmpich.so.12</c>), loaded at run time.
/// </summary>
/// <remarks>
/// <para>
/// Get the group with <see cref="Initialize"/> and dispose it at the end of the program on every rank, or let
/// <c>UseMpi()</c> create it for the controllers made with those options, which dispose it with the last of them. The
/// collectives run on a private duplicate of <c>MPI_COMM_WORLD</c>, so they never match a collective the program
/// itself runs on the world communicator, and MPI errors on it become <see cref="ProcessGroupException"/> instead of
/// aborting the job.
/// </para>
/// <para>
/// Like <see cref="IProcessGroup"/>, an instance is not thread-safe: call one member at a time. MPI is initialised
/// with <c>MPI_THREAD_MULTIPLE</c> requested, so those calls may come from any thread, including one that is
/// not the thread that called <see cref="Initialize"/>.
/// </para>
/// </remarks>
public sealed class MpiProcessGroup : IProcessGroup, IDisposable
{
    private static readonly Lock _sync = new();
    private static MpiProcessGroup? _current;

    private readonly MpiApi _api;
    private readonly nint _comm;
    private readonly bool _ownsMpi;
    private bool _disposed;

    // The program called Initialize(), so the program disposes the group; until it does, UseMpi()'s controllers only
    // count their holds (a group nobody but those controllers has is disposed with the last of them).
    private bool _program;
    private int _holds;

    private MpiProcessGroup(MpiApi api, nint comm, bool ownsMpi)
    {
        _api = api;
        _comm = comm;
        _ownsMpi = ownsMpi;
        Rank = api.CommRank(comm);
        Size = api.CommSize(comm);
        LibraryVersion = api.GetLibraryVersion();
    }

    /// <summary>Gets this process's rank in <c>MPI_COMM_WORLD</c>, from 0 to <see cref="Size"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>Gets the number of ranks in <c>MPI_COMM_WORLD</c>.</summary>
    public int Size { get; }

    /// <summary>Gets what <c>MPI_Get_library_version</c> says of the loaded MPI, for logs (for example "Open MPI v4.1.4, …").</summary>
    public string LibraryVersion { get; }

    /// <summary>
    /// Loads the system's MPI, initialises it unless the program already has, and returns the group of all ranks.
    /// Idempotent: later calls in the same process return the same instance until it is disposed.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The library is chosen from the launcher's environment: Open MPI's <c>libmpi.so.40</c> under Open MPI's
    /// <c>mpirun</c> (<c>OMPI_COMM_WORLD_*</c> set), MPICH's <c>libmpich.so.12</c> under Hydra (<c>PMI_*</c> set),
    /// Open MPI first otherwise. The environment variable <c>RUNTIMECTL_MPI_LIBRARY</c> overrides the choice:
    /// <c>openmpi</c>, <c>mpich</c>, or the name or path of a shared library with either binary interface.
    /// </para>
    /// <para>
    /// Without a launcher the process is a singleton job of size 1. When the launcher announced a world size
    /// (<c>OMPI_COMM_WORLD_SIZE</c>, <c>PMI_SIZE</c>) that MPI does not report, the loaded library belongs to another
    /// launcher, every process would silently be rank 0 of 1, and this method throws instead.
    /// </para>
    /// <para>
    /// This is a collective: every rank calls it, and it blocks until all have. Thread-safe.
    /// </para>
    /// <para>
    /// The group is then the program's, also when <c>UseMpi()</c> created it first: controllers made with
    /// <c>UseMpi()</c> no longer dispose it, the program does.
    /// </para>
    /// </remarks>
    /// <returns>The group; dispose it on every rank when the program ends.</returns>
    /// <exception cref="ProcessGroupException">No MPI library can be loaded, the library does not match the launcher, MPI
    /// was already finalized in this process, or MPI reports an error. The message says how to fix it.</exception>
    public static MpiProcessGroup Initialize()
    {
        lock (_sync)
        {
            var group = GetOrCreate();
            group._program = true;
            return group;
        }
    }

    /// <summary>Like <see cref="Initialize"/>, for <c>UseMpi()</c>: the group becomes the program's only if the program calls <see cref="Initialize"/>.</summary>
    internal static MpiProcessGroup InitializeForController()
    {
        lock (_sync)
        {
            return GetOrCreate();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The group has been disposed.</exception>
    /// <exception cref="ProcessGroupException">MPI reports an error.</exception>
    public void Barrier()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _api.Barrier(_comm);
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The group has been disposed.</exception>
    /// <exception cref="ProcessGroupException">MPI reports an error.</exception>
    public unsafe void Broadcast(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        fixed (byte* p = buffer)
        {
            _api.Bcast(p, buffer.Length, _api.Byte, 0, _comm);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">On rank 0, <paramref name="receive"/> is shorter than
    /// <see cref="Size"/> × <c>send.Length</c> bytes.</exception>
    /// <exception cref="ObjectDisposedException">The group has been disposed.</exception>
    /// <exception cref="ProcessGroupException">MPI reports an error.</exception>
    public unsafe void Gather(ReadOnlySpan<byte> send, Span<byte> receive)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Rank == 0 && receive.Length < (long)Size * send.Length)
        {
            throw new ArgumentException(
                $"The receive buffer on rank 0 has {receive.Length} bytes but must hold {Size} ranks × {send.Length} bytes = {(long)Size * send.Length}.",
                nameof(receive));
        }

        fixed (byte* s = send)
        fixed (byte* r = receive)
        {
            _api.Gather(s, send.Length, _api.Byte, r, send.Length, _api.Byte, 0, _comm);
        }
    }

    /// <summary>
    /// Replaces <paramref name="values"/> on every rank with the element-wise sum over all ranks
    /// (<c>MPI_Allreduce</c> in place). A collective: every rank passes a span of the same length.
    /// </summary>
    /// <param name="values">This rank's values; the sums on return.</param>
    /// <exception cref="ObjectDisposedException">The group has been disposed.</exception>
    /// <exception cref="ProcessGroupException">MPI reports an error.</exception>
    public unsafe void AllReduceSum(Span<float> values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        fixed (float* p = values)
        {
            _api.Allreduce((void*)_api.InPlace, p, values.Length, _api.Float, _api.Sum, _comm);
        }
    }

    /// <summary>
    /// Replaces <paramref name="values"/> on every rank with the element-wise sum over all ranks
    /// (<c>MPI_Allreduce</c> in place). A collective: every rank passes a span of the same length.
    /// </summary>
    /// <param name="values">This rank's values; the sums on return.</param>
    /// <exception cref="ObjectDisposedException">The group has been disposed.</exception>
    /// <exception cref="ProcessGroupException">MPI reports an error.</exception>
    public unsafe void AllReduceSum(Span<double> values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        fixed (double* p = values)
        {
            _api.Allreduce((void*)_api.InPlace, p, values.Length, _api.Double, _api.Sum, _comm);
        }
    }

    /// <summary>
    /// Frees the group's communicator and, when <see cref="Initialize"/> initialised MPI, calls
    /// <c>MPI_Finalize</c>. A collective: every rank calls it. Later calls do nothing.
    /// </summary>
    /// <remarks>
    /// MPI cannot be initialised again in a process after <c>MPI_Finalize</c>, so dispose the group only when the
    /// program ends; <see cref="Initialize"/> then throws. A group that only <c>UseMpi()</c> asked for (the program never
    /// called <see cref="Initialize"/>) is disposed by the last controller made with it. When the program had initialised MPI itself, MPI stays
    /// initialised and the program finalizes it. Under Open MPI, a rank that exits without finalizing makes
    /// <c>mpirun</c> report an error.
    /// </remarks>
    /// <exception cref="ProcessGroupException">MPI reports an error.</exception>
    public void Dispose()
    {
        lock (_sync)
        {
            DisposeLocked();
        }
    }

    /// <summary>
    /// Takes a hold on the group for a controller that <c>UseMpi()</c> configured; disposing the hold releases it, and
    /// the last release disposes a group the program never took with <see cref="Initialize"/> (finalizing MPI).
    /// </summary>
    /// <exception cref="ProcessGroupException">The group was disposed already.</exception>
    internal IDisposable Hold()
    {
        lock (_sync)
        {
            if (_disposed)
            {
                throw new ProcessGroupException(
                    "The MPI process group that UseMpi() set was disposed, and MPI cannot be initialised again: it is finalized when the last controller made with UseMpi() is disposed. " +
                    "Create the job's controllers before disposing the last one, or call MpiProcessGroup.Initialize() at the start and dispose that group at the end of the program.");
            }

            _holds++;
            return new ControllerHold(this);
        }
    }

    private void Release()
    {
        lock (_sync)
        {
            if (--_holds == 0 && !_program)
            {
                DisposeLocked();
            }
        }
    }

    private void DisposeLocked()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (ReferenceEquals(_current, this))
        {
            _current = null;
        }

        // A program that finalized MPI itself has already freed every communicator.
        if (_api.IsFinalized())
        {
            return;
        }

        _api.CommFree(_comm);
        if (_ownsMpi)
        {
            _api.FinalizeMpi();
        }
    }

    /// <summary>Returns the current group, or loads and initialises MPI and creates it; the caller holds <c>_sync</c>.</summary>
    private static MpiProcessGroup GetOrCreate()
    {
        if (_current is not null)
        {
            return _current;
        }

        var environment = MpiLaunchEnvironment.FromProcess();

        // The runtime raises NullReferenceException and DivideByZeroException from SIGSEGV and SIGFPE. UCX
        // (MPICH's transport on Debian, Open MPI's on InfiniBand) installs its own handlers for those when the
        // MPI library loads it, and they kill the process on the first null dereference in managed code.
        NativeEnvironment.SetDefault("UCX_ERROR_SIGNALS", string.Empty);
        var api = MpiApi.Load(environment.GetLibraryCandidates(), environment.LibraryOverride is not null);
        if (api.IsFinalized())
        {
            throw new ProcessGroupException(
                $"MPI has already been finalized in this process ({api.Library}), and MPI cannot be initialised again. " +
                "Call MpiProcessGroup.Initialize() once and dispose the group only when the program ends.");
        }

        var ownsMpi = false;
        if (!api.IsInitialized())
        {
            if (api.Flavor == MpiFlavor.OpenMpi && environment.Launcher != MpiFlavor.OpenMpi
                && Environment.GetEnvironmentVariable("OMPI_MCA_plm_rsh_agent") is null)
            {
                // Without its mpirun, Open MPI starts a helper daemon whose default launcher looks for ssh or
                // rsh and aborts the whole process when neither is on PATH (minimal containers). A singleton
                // needs no remote launcher, and the size check below still gets to run.
                NativeEnvironment.SetDefault("OMPI_MCA_plm", "isolated");
            }

            api.InitThread(MpiApi.ThreadMultiple);
            ownsMpi = true;
        }

        var worldSize = api.CommSize(api.World);
        if (environment.LauncherWorldSize is { } expected && expected.Size != worldSize)
        {
            if (ownsMpi)
            {
                api.FinalizeMpi();
            }

            throw new ProcessGroupException(
                $"MPI reports a world of {worldSize} rank(s), but the launcher set {expected.Variable}={expected.Size}: " +
                $"the loaded library ({api.Library}) does not belong to the launcher that started this job, so every process " +
                "would run alone as rank 0. Start the program with the mpirun of the same MPI that RuntimeCtl loads, or set " +
                $"{MpiLaunchEnvironment.LibraryVariable} to the launcher's library ('openmpi' for Open MPI's mpirun, 'mpich' for " +
                "MPICH's mpiexec, or the library's full path).");
        }

        var comm = api.CommDup(api.World);
        api.CommSetErrhandler(comm, api.ErrorsReturn);
        _current = new MpiProcessGroup(api, comm, ownsMpi);
        return _current;
    }

    /// <summary>One controller's hold on the group; disposing it twice releases it once.</summary>
    private sealed class ControllerHold(MpiProcessGroup group) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                group.Release();
            }
        }
    }
}
