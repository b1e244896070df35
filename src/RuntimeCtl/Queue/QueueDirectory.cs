namespace RuntimeCtl;

/// <summary>
/// The files of one queue directory, and the checks that keep strangers from driving the job. On Linux the directory
/// is opened once (<c>O_DIRECTORY|O_NOFOLLOW</c>) after its checks and every file is opened relative to that
/// descriptor (<c>openat</c> with <c>O_NOFOLLOW|O_NONBLOCK</c>, checked with <c>fstat</c> to be a regular file), so a
/// directory swapped or a symlink planted later is never followed. Elsewhere files are opened by path.
/// </summary>
internal sealed class QueueDirectory : IDisposable
{
    public const string CommandsFile = QueueFiles.Commands;
    public const string AcksFile = QueueFiles.Acks;
    public const string ControllerFile = QueueFiles.Controller;
    public const string CursorFile = "cursor.json";
    public const string LockFile = "commands.lock";
    public const string JournalFile = WriteAheadJournal.FileName;

    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private SafeAppendHandle? _handle;
    private UnixFileStatus.Status _opened;
    private bool _allowShared;

    public QueueDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = string.Empty;
        Commands = Acks = Controller = Cursor = Lock = Journal = string.Empty;
        SetPath(System.IO.Path.GetFullPath(path));
    }

    public string Path { get; private set; }

    public string Commands { get; private set; }

    public string Acks { get; private set; }

    public string Controller { get; private set; }

    public string Cursor { get; private set; }

    public string Lock { get; private set; }

    public string Journal { get; private set; }

    /// <summary>Gets whether files are opened relative to the directory's descriptor (Linux).</summary>
    private static bool ByDescriptor => NativeFile.IsSupported;

    /// <summary>Checks the directory, its parents and the queue files, then creates what is missing (0700/0600).</summary>
    /// <remarks>Every check runs before anything is created: a refused directory is left as it was.</remarks>
    public void EnsureCreated(bool allowShared)
    {
        Run(() =>
        {
            Open(allowShared, create: true);
            foreach (var name in (string[])[CommandsFile, AcksFile, ControllerFile, CursorFile, JournalFile, LockFile, "metrics.jsonl"])
            {
                CheckExisting(name);
            }

            CreateFile(CommandsFile);
            CreateFile(AcksFile);
        });
    }

    /// <summary>Checks the directory (creating it if absent, as a sender may be first) and <c>commands.jsonl</c> before a sender writes.</summary>
    public void CheckForSender(bool allowShared) => Run(() =>
    {
        Open(allowShared, create: true);
        CheckExisting(CommandsFile);
        CheckExisting(LockFile);
    });

    /// <summary>Opens a file of the queue, never through a symlink; only a regular file is returned. Created 0600.</summary>
    /// <exception cref="FileNotFoundException">It does not exist and <paramref name="mode"/> does not create it.</exception>
    /// <exception cref="IOException">It cannot be opened, or it is not a regular file.</exception>
    public FileStream OpenFile(string name, FileMode mode, FileAccess access)
    {
        if (_handle is not null)
        {
            return NativeFile.Stream(NativeFile.OpenAt(_handle, name, mode, access), access);
        }

        if (mode == System.IO.FileMode.Open && access == FileAccess.Read)
        {
            // A reader (status, history) of a queue it did not open: never through a symlink, never blocking on a FIFO.
            return new FileStream(NativeFile.OpenRead(Combine(name)), FileAccess.Read, bufferSize: 0);
        }

        return OpenOwnerOnly(Combine(name), mode, access);
    }

    /// <summary>Opens a file for <c>O_APPEND</c> writes (Linux), never through a symlink.</summary>
    public SafeAppendHandle OpenAppend(string name) =>
        _handle is not null ? NativeFile.OpenAt(_handle, name, System.IO.FileMode.Append, FileAccess.ReadWrite) : NativeFile.OpenAppend(Combine(name));

    /// <summary>Writes a file whole and puts it in place atomically: a fresh temporary file (a planted one is removed, never followed), then a rename.</summary>
    public void Replace(string name, ReadOnlySpan<byte> content)
    {
        var temp = name + ".tmp";
        if (_handle is not null)
        {
            NativeFile.UnlinkAt(_handle, temp);
        }
        else
        {
            File.Delete(Combine(temp));
        }

        using (var stream = OpenFile(temp, System.IO.FileMode.CreateNew, FileAccess.Write))
        {
            stream.Write(content);
        }

        if (_handle is not null)
        {
            NativeFile.RenameAt(_handle, temp, name);
        }
        else
        {
            File.Move(Combine(temp), Combine(name), overwrite: true);
        }
    }

    /// <summary>Renames a file of the queue over another (a rotation).</summary>
    public void Rename(string from, string to)
    {
        if (_handle is not null)
        {
            NativeFile.RenameAt(_handle, from, to);
        }
        else
        {
            File.Move(Combine(from), Combine(to), overwrite: true);
        }
    }

    /// <summary>Reads what a name of the queue is now, without following a symlink; false when absent.</summary>
    public bool TryStat(string name, out UnixFileStatus.Status status)
    {
        if (_handle is not null)
        {
            return NativeFile.TryStatAt(_handle, name, out status);
        }

        return StatByPath(Combine(name), out status);
    }

    /// <summary>
    /// <c>stat(2)</c> where <see cref="UnixFileStatus"/> reads it (Linux x64/arm64); elsewhere on Unix (macOS) the
    /// BCL's type and mode bits, with the owner taken as this user (it cannot be read there), so the mode checks
    /// still hold.
    /// </summary>
    private static bool StatByPath(string path, out UnixFileStatus.Status status)
    {
        if (UnixFileStatus.TryStat(path, out status))
        {
            return true;
        }

        if (UnixFileStatus.IsSupported || OperatingSystem.IsWindows())
        {
            return false;
        }

        var info = new FileInfo(path);
        var isLink = info.LinkTarget is not null; // a dangling link too: it must never be created through
        var isDirectory = Directory.Exists(path);
        if (!info.Exists && !isDirectory && !isLink)
        {
            return false;
        }

        var type = isLink ? 0xA000u : isDirectory ? 0x4000u : 0x8000u;
        status = new UnixFileStatus.Status(type | (isLink ? 0 : (uint)File.GetUnixFileMode(path)), UnixFileStatus.EffectiveUserId, 0, 0, info.Exists ? info.Length : 0);
        return true;
    }

    /// <summary>Whether the path now names another directory than the one opened (it was moved or swapped).</summary>
    public bool IsSwapped() =>
        _handle is not null && (!UnixFileStatus.TryStat(Path, out var now) || now.Device != _opened.Device || now.Inode != _opened.Inode);

    /// <summary>
    /// For readers (status, controls, the dashboard): a warning when the queue directory belongs to another user, whose
    /// files (acks, controller.json) may say anything; null for one's own directory.
    /// </summary>
    public static string? ForeignOwnerWarning(string path) =>
        UnixFileStatus.TryStat(path, out var status) && status.OwnerId != UnixFileStatus.EffectiveUserId
            ? $"the queue directory '{System.IO.Path.GetFullPath(path)}' belongs to another user (uid {status.OwnerId}): its contents (acks, controller.json) are not trusted; a trainer of yours would refuse it"
            : null;

    /// <summary>Creates a directory (and its parents) readable only by its owner, if it is absent.</summary>
    public static void CreateOwnerOnly(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, DirectoryMode);
        }
    }

    /// <summary>Opens a file by path, created 0600 (where files outside a checked queue directory are written).</summary>
    public static FileStream OpenOwnerOnly(string path, FileMode mode, FileAccess access, FileShare share = FileShare.ReadWrite | FileShare.Delete)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = 0 };
        if (!OperatingSystem.IsWindows() && mode != System.IO.FileMode.Open)
        {
            options.UnixCreateMode = FileMode;
        }

        return new FileStream(path, options);
    }

    public void Dispose() => _handle?.Dispose();

    private string Combine(string name) => System.IO.Path.Combine(Path, name);

    private void SetPath(string path)
    {
        Path = path;
        Commands = Combine(CommandsFile);
        Acks = Combine(AcksFile);
        Controller = Combine(ControllerFile);
        Cursor = Combine(CursorFile);
        Lock = Combine(LockFile);
        Journal = Combine(JournalFile);
    }

    private void Run(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QueueConfigurationException(Path, $"Cannot use the queue directory '{Path}': {e.Message} Check the path and that this user may write there.", e);
        }
    }

    /// <summary>Checks the parents and the directory, then (on Linux) keeps its descriptor.</summary>
    private void Open(bool allowShared, bool create)
    {
        _allowShared = allowShared;
        if (_handle is not null)
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            if (create)
            {
                CreateOwnerOnly(Path);
            }

            return;
        }

        CheckParents();
        if (create)
        {
            CreateOwnerOnly(Path);
        }

        // A symlinked queue directory is used through its target, checked like any other.
        var real = new DirectoryInfo(Path).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        if (real is not null && !string.Equals(real, Path, StringComparison.Ordinal))
        {
            SetPath(real);
            CheckParents();
        }

        if (!ByDescriptor)
        {
            if (StatByPath(Path, out var byPath))
            {
                CheckDirectory(byPath);
            }

            return;
        }

        var handle = NativeFile.OpenDirectory(Path);
        if (!UnixFileStatus.TryFStat(handle.Descriptor, out var status))
        {
            handle.Dispose();
            throw new IOException($"Cannot read what '{Path}' is.");
        }

        try
        {
            CheckDirectory(status);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        _opened = status;
        _handle = handle;
    }

    /// <summary>
    /// Refuses a queue directory inside a directory that another user could rename it out of or swap (writable by
    /// others and not sticky, or owned by another user than this one or root), as OpenSSH's StrictModes does.
    /// </summary>
    private void CheckParents()
    {
        var me = UnixFileStatus.EffectiveUserId;
        for (var parent = System.IO.Path.GetDirectoryName(Path); parent is not null; parent = System.IO.Path.GetDirectoryName(parent))
        {
            if (!StatByPath(parent, out var status) || status.IsSticky)
            {
                continue;
            }

            if (status.OthersWritable || (status.GroupWritable && !_allowShared))
            {
                throw new QueueConfigurationException(Path, $"The queue directory '{Path}' is inside '{parent}', which other users can write (mode {Convert.ToString(status.Mode & 0x1FF, 8)}) and is not sticky: they could swap the queue directory and steer the job. Use a directory under one only you can write (e.g. under your home), or run 'chmod o-w,g-w {parent}' (or 'chmod +t {parent}').");
            }

            if (status.OwnerId != me && status.OwnerId != 0)
            {
                throw new QueueConfigurationException(Path, $"The queue directory '{Path}' is inside '{parent}', which belongs to another user (uid {status.OwnerId}), who could swap the queue directory and steer the job. Use a directory under one of your own.");
            }
        }
    }

    private void CheckDirectory(UnixFileStatus.Status status)
    {
        if (status.OthersWritable)
        {
            throw new QueueConfigurationException(Path, $"The queue directory '{Path}' is writable by every user, so anyone on this machine could drive the job. Run 'chmod o-w {Path}' (or 'chmod 700 {Path}'), or use another directory.");
        }

        if (status.GroupWritable && !_allowShared)
        {
            throw new QueueConfigurationException(Path, $"The queue directory '{Path}' is writable by its group, so every member of the group could drive the job. Run 'chmod g-w {Path}', or opt in with allowSharedQueue (library) / --allow-shared (CLI) if a team shares this job on purpose.");
        }

        if (status.OwnerId != UnixFileStatus.EffectiveUserId)
        {
            // Root too: a directory another user made is theirs to fill with commands and forged acks.
            throw new QueueConfigurationException(Path, $"The queue directory '{Path}' belongs to another user (uid {status.OwnerId}), who could drive the job or forge its acks. Use a directory of your own{(UnixFileStatus.EffectiveUserId == 0 ? " (as root: one that root owns, or 'chown root' this one after checking its contents)" : string.Empty)}.");
        }
    }

    /// <summary>Refuses an existing queue file that is a symlink, not a regular file, writable by others or another user's.</summary>
    private void CheckExisting(string name)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var path = Combine(name);
        if (!TryStat(name, out var status))
        {
            return; // absent: created later, 0600
        }

        if (status.IsSymbolicLink)
        {
            throw new QueueConfigurationException(Path, $"The queue file '{path}' is a symbolic link (to '{new FileInfo(path).LinkTarget}'); a queue file must be a regular file of its own. Remove the link and let RuntimeCtl create the file.");
        }

        if (!status.IsRegularFile)
        {
            throw new QueueConfigurationException(Path, $"The queue file '{path}' is not a regular file (a directory, a FIFO or a device). Remove it and let RuntimeCtl create the file.");
        }

        if (status.OthersWritable || (status.GroupWritable && !_allowShared))
        {
            throw new QueueConfigurationException(Path, $"The queue file '{path}' is writable by {(status.OthersWritable ? "every user" : "its group")} (mode {Convert.ToString(status.Mode & 0x1FF, 8)}), so they could drive the job. Run 'chmod 600 {path}'{(status.OthersWritable ? string.Empty : ", or opt in with --allow-shared")}.");
        }

        if (status.OwnerId != UnixFileStatus.EffectiveUserId)
        {
            throw new QueueConfigurationException(Path, $"The queue file '{path}' belongs to another user (uid {status.OwnerId}). Remove it (or 'chown' it after checking its contents).");
        }
    }

    private void CreateFile(string name)
    {
        if (!TryStat(name, out _))
        {
            using var _ = OpenFile(name, System.IO.FileMode.OpenOrCreate, FileAccess.Write);
        }
    }
}
