using System.Runtime.InteropServices;
using System.Text;

namespace RuntimeCtl.Mpi;

/// <summary>
/// The few MPI entry points this package calls, resolved from one loaded library, with the handle values of that
/// library's flavour. Handles are kept as <see cref="nint"/>: a pointer in Open MPI, a zero-extended C int in MPICH.
/// </summary>
/// <remarks>
/// Every method that takes a handle casts its function pointer to the flavour's real C signature, so MPICH's
/// <c>int</c> handles are passed as ints and never as pointer-sized values.
/// </remarks>
internal sealed unsafe class MpiApi
{
    internal const int ThreadMultiple = 3;

    private const int MaxErrorString = 1024;

    private readonly bool _intHandles;
    private readonly delegate* unmanaged<int*, byte***, int> _init;
    private readonly delegate* unmanaged<int*, byte***, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int*, int> _initialized;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly delegate* unmanaged<byte*, int*, int> _getLibraryVersion;
    private readonly void* _commRank;
    private readonly void* _commSize;
    private readonly void* _commDup;
    private readonly void* _commFree;
    private readonly void* _commSetErrhandler;
    private readonly void* _barrier;
    private readonly void* _bcast;
    private readonly void* _gather;
    private readonly void* _allreduce;

    private MpiApi(string library, nint handle, MpiFlavor flavor)
    {
        Library = library;
        Flavor = flavor;
        _intHandles = flavor == MpiFlavor.Mpich;
        _init = (delegate* unmanaged<int*, byte***, int>)Export(handle, library, "MPI_Init");
        _initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export(handle, library, "MPI_Init_thread");
        _initialized = (delegate* unmanaged<int*, int>)Export(handle, library, "MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)Export(handle, library, "MPI_Finalized");
        _finalize = (delegate* unmanaged<int>)Export(handle, library, "MPI_Finalize");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Export(handle, library, "MPI_Error_string");
        _getLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Export(handle, library, "MPI_Get_library_version");
        _commRank = Export(handle, library, "MPI_Comm_rank");
        _commSize = Export(handle, library, "MPI_Comm_size");
        _commDup = Export(handle, library, "MPI_Comm_dup");
        _commFree = Export(handle, library, "MPI_Comm_free");
        _commSetErrhandler = Export(handle, library, "MPI_Comm_set_errhandler");
        _barrier = Export(handle, library, "MPI_Barrier");
        _bcast = Export(handle, library, "MPI_Bcast");
        _gather = Export(handle, library, "MPI_Gather");
        _allreduce = Export(handle, library, "MPI_Allreduce");

        if (flavor == MpiFlavor.OpenMpi)
        {
            // Open MPI's predefined handles are the addresses of exported objects.
            World = (nint)Export(handle, library, "ompi_mpi_comm_world");
            Byte = (nint)Export(handle, library, "ompi_mpi_byte");
            Float = (nint)Export(handle, library, "ompi_mpi_float");
            Double = (nint)Export(handle, library, "ompi_mpi_double");
            Sum = (nint)Export(handle, library, "ompi_mpi_op_sum");
            ErrorsReturn = (nint)Export(handle, library, "ompi_mpi_errors_return");
            InPlace = 1;
        }
        else
        {
            // MPICH's predefined handles are integer constants from its mpi.h (64-bit Linux values).
            World = 0x44000000;
            Byte = 0x4c00010d;
            Float = 0x4c00040a;
            Double = 0x4c00080b;
            Sum = 0x58000003;
            ErrorsReturn = 0x54000001;
            InPlace = -1;
        }
    }

    /// <summary>Gets the name or path the library was loaded by.</summary>
    public string Library { get; }

    /// <summary>Gets the binary interface of the library.</summary>
    public MpiFlavor Flavor { get; }

    public nint World { get; }

    public nint Byte { get; }

    public nint Float { get; }

    public nint Double { get; }

    public nint Sum { get; }

    public nint ErrorsReturn { get; }

    public nint InPlace { get; }

    /// <summary>
    /// Loads the first of <paramref name="candidates"/> that the dynamic loader finds and that exports the MPI
    /// entry points this package needs.
    /// </summary>
    /// <exception cref="ProcessGroupException">No candidate could be loaded; the message lists why each failed.</exception>
    public static MpiApi Load(IReadOnlyList<string> candidates, bool fromOverride)
    {
        var failures = new List<string>();
        foreach (var candidate in candidates)
        {
            nint handle;
            try
            {
                handle = NativeLibrary.Load(candidate);
            }
            catch (DllNotFoundException ex)
            {
                failures.Add($"{candidate}: {LoaderReason(ex.Message)}");
                continue;
            }

            // The flavour is read off the library itself, so a library given by path needs no flavour hint.
            var flavor = NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _) ? MpiFlavor.OpenMpi : MpiFlavor.Mpich;
            try
            {
                return new MpiApi(candidate, handle, flavor);
            }
            catch (ProcessGroupException ex)
            {
                NativeLibrary.Free(handle);
                failures.Add($"{candidate}: {ex.Message}");
            }
        }

        var tried = string.Join("; ", failures);
        throw new ProcessGroupException(fromOverride
            ? $"The MPI library named by {MpiLaunchEnvironment.LibraryVariable} could not be loaded ({tried}). " +
              $"Set {MpiLaunchEnvironment.LibraryVariable} to 'openmpi', 'mpich' or the full path of an MPI shared library, or unset it to let RuntimeCtl choose."
            : $"No MPI library could be loaded ({tried}). Install Open MPI with 'apt-get install openmpi-bin' " +
              $"(Debian/Ubuntu; or MPICH with 'apt-get install mpich'), or set {MpiLaunchEnvironment.LibraryVariable} to the full path of your MPI shared library.");
    }

    public bool IsInitialized()
    {
        int flag;
        Check(_initialized(&flag), "MPI_Initialized");
        return flag != 0;
    }

    public bool IsFinalized()
    {
        int flag;
        Check(_finalized(&flag), "MPI_Finalized");
        return flag != 0;
    }

    public int InitThread(int required)
    {
        int provided;
        Check(_initThread(null, null, required, &provided), "MPI_Init_thread");
        return provided;
    }

    public void Init() => Check(_init(null, null), "MPI_Init");

    public void FinalizeMpi() => Check(_finalize(), "MPI_Finalize");

    public string GetLibraryVersion()
    {
        // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI and 8192 in MPICH.
        var buffer = new byte[8192];
        int length;
        fixed (byte* p = buffer)
        {
            Check(_getLibraryVersion(p, &length), "MPI_Get_library_version");
        }

        return Encoding.UTF8.GetString(buffer, 0, Math.Clamp(length, 0, buffer.Length)).TrimEnd('\0', '\n', ' ');
    }

    public int CommRank(nint comm)
    {
        int value;
        var rc = _intHandles
            ? ((delegate* unmanaged<int, int*, int>)_commRank)((int)comm, &value)
            : ((delegate* unmanaged<nint, int*, int>)_commRank)(comm, &value);
        Check(rc, "MPI_Comm_rank");
        return value;
    }

    public int CommSize(nint comm)
    {
        int value;
        var rc = _intHandles
            ? ((delegate* unmanaged<int, int*, int>)_commSize)((int)comm, &value)
            : ((delegate* unmanaged<nint, int*, int>)_commSize)(comm, &value);
        Check(rc, "MPI_Comm_size");
        return value;
    }

    public nint CommDup(nint comm)
    {
        int rc;
        nint result;
        if (_intHandles)
        {
            int newComm;
            rc = ((delegate* unmanaged<int, int*, int>)_commDup)((int)comm, &newComm);
            result = newComm;
        }
        else
        {
            nint newComm;
            rc = ((delegate* unmanaged<nint, nint*, int>)_commDup)(comm, &newComm);
            result = newComm;
        }

        Check(rc, "MPI_Comm_dup");
        return result;
    }

    public void CommFree(nint comm)
    {
        int rc;
        if (_intHandles)
        {
            var handle = (int)comm;
            rc = ((delegate* unmanaged<int*, int>)_commFree)(&handle);
        }
        else
        {
            rc = ((delegate* unmanaged<nint*, int>)_commFree)(&comm);
        }

        Check(rc, "MPI_Comm_free");
    }

    public void CommSetErrhandler(nint comm, nint errhandler)
    {
        var rc = _intHandles
            ? ((delegate* unmanaged<int, int, int>)_commSetErrhandler)((int)comm, (int)errhandler)
            : ((delegate* unmanaged<nint, nint, int>)_commSetErrhandler)(comm, errhandler);
        Check(rc, "MPI_Comm_set_errhandler");
    }

    public void Barrier(nint comm)
    {
        var rc = _intHandles
            ? ((delegate* unmanaged<int, int>)_barrier)((int)comm)
            : ((delegate* unmanaged<nint, int>)_barrier)(comm);
        Check(rc, "MPI_Barrier");
    }

    public void Bcast(void* buffer, int count, nint datatype, int root, nint comm)
    {
        var rc = _intHandles
            ? ((delegate* unmanaged<void*, int, int, int, int, int>)_bcast)(buffer, count, (int)datatype, root, (int)comm)
            : ((delegate* unmanaged<void*, int, nint, int, nint, int>)_bcast)(buffer, count, datatype, root, comm);
        Check(rc, "MPI_Bcast");
    }

    public void Gather(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType, int root, nint comm)
    {
        var rc = _intHandles
            ? ((delegate* unmanaged<void*, int, int, void*, int, int, int, int, int>)_gather)(
                send, sendCount, (int)sendType, receive, receiveCount, (int)receiveType, root, (int)comm)
            : ((delegate* unmanaged<void*, int, nint, void*, int, nint, int, nint, int>)_gather)(
                send, sendCount, sendType, receive, receiveCount, receiveType, root, comm);
        Check(rc, "MPI_Gather");
    }

    public void Allreduce(void* send, void* receive, int count, nint datatype, nint op, nint comm)
    {
        var rc = _intHandles
            ? ((delegate* unmanaged<void*, void*, int, int, int, int, int>)_allreduce)(send, receive, count, (int)datatype, (int)op, (int)comm)
            : ((delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)_allreduce)(send, receive, count, datatype, op, comm);
        Check(rc, "MPI_Allreduce");
    }

    private static void* Export(nint handle, string library, string name) =>
        NativeLibrary.TryGetExport(handle, name, out var address)
            ? (void*)address
            : throw new ProcessGroupException($"{library} does not export {name}, so it is not an MPI library this package can use.");

    private static string LoaderReason(string message)
    {
        // The runtime's message is advice about strace and LD_DEBUG followed by dlerror's text, often empty.
        const string Marker = "LD_DEBUG environment variable:";
        var at = message.IndexOf(Marker, StringComparison.Ordinal);
        var reason = at < 0 ? message : message[(at + Marker.Length)..];
        reason = reason.ReplaceLineEndings(" ").Trim();
        return reason.Length == 0 ? "not found, or one of its dependencies is missing" : reason;
    }

    private void Check(int rc, string function)
    {
        if (rc != 0)
        {
            throw new ProcessGroupException($"{function} failed in {Library} with MPI error {rc}: {ErrorString(rc)}", function, rc);
        }
    }

    private string ErrorString(int code)
    {
        var buffer = stackalloc byte[MaxErrorString];
        int length;
        return _errorString(code, buffer, &length) == 0
            ? Encoding.UTF8.GetString(buffer, Math.Clamp(length, 0, MaxErrorString))
            : "(no description)";
    }
}
