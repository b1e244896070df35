namespace RuntimeCtl;

/// <summary>The files of one queue directory, and the checks that keep strangers from driving the job.</summary>
internal sealed class QueueDirectory
{
    public const string CommandsFile = "commands.jsonl";
    public const string AcksFile = "acks.jsonl";
    public const string ControllerFile = "controller.json";
    public const string CursorFile = "cursor.json";
    public const string LockFile = "commands.lock";
    public const string JournalFile = WriteAheadJournal.FileName;

    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public QueueDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        Commands = System.IO.Path.Combine(Path, CommandsFile);
        Acks = System.IO.Path.Combine(Path, AcksFile);
        Controller = System.IO.Path.Combine(Path, ControllerFile);
        Cursor = System.IO.Path.Combine(Path, CursorFile);
        Lock = System.IO.Path.Combine(Path, LockFile);
        Journal = System.IO.Path.Combine(Path, JournalFile);
    }

    public string Journal { get; }

    public string Path { get; }

    public string Commands { get; }

    public string Acks { get; }

    public string Controller { get; }

    public string Cursor { get; }

    public string Lock { get; }

    /// <summary>Creates the directory (0700) and both queue files (0600) if absent, then checks them.</summary>
    public void EnsureCreated(bool allowShared)
    {
        try
        {
            CreateOwnerOnly(Path);

            CheckDirectory(allowShared);
            CreateFile(Commands);
            CreateFile(Acks);
            CheckFile(Commands);
            CheckFile(Acks);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QueueConfigurationException(Path, $"Cannot create the queue directory '{Path}': {e.Message}. Check the path and that this user may write there.", e);
        }
    }

    /// <summary>Checks an existing queue directory before a sender writes into it.</summary>
    public void CheckForSender(bool allowShared)
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        CheckDirectory(allowShared);
        if (File.Exists(Commands) || Directory.Exists(Commands))
        {
            CheckFile(Commands);
        }
    }

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

    public static FileStream OpenOwnerOnly(string path, FileMode mode, FileAccess access, FileShare share = FileShare.ReadWrite | FileShare.Delete)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = 0 };
        if (!OperatingSystem.IsWindows() && mode != System.IO.FileMode.Open)
        {
            options.UnixCreateMode = FileMode;
        }

        return new FileStream(path, options);
    }

    private static void CreateFile(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
        {
            using var _ = OpenOwnerOnly(path, System.IO.FileMode.OpenOrCreate, FileAccess.Write);
        }
    }

    private void CheckDirectory(bool allowShared)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var info = new DirectoryInfo(Path);
        if (info.LinkTarget is not null)
        {
            info = (DirectoryInfo?)info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        }

        var mode = info.UnixFileMode;
        if ((mode & UnixFileMode.OtherWrite) != 0)
        {
            throw new QueueConfigurationException(Path, $"The queue directory '{Path}' is writable by every user, so anyone on this machine could drive the job. Run 'chmod o-w {Path}' (or 'chmod 700 {Path}'), or use another directory.");
        }

        if ((mode & UnixFileMode.GroupWrite) != 0 && !allowShared)
        {
            throw new QueueConfigurationException(Path, $"The queue directory '{Path}' is writable by its group, so every member of the group could drive the job. Run 'chmod g-w {Path}', or opt in with allowSharedQueue (library) / --allow-shared (CLI) if a team shares this job on purpose.");
        }

        if (UnixFileStatus.TryGet(Path, out var owner, out _, out _) && owner != UnixFileStatus.EffectiveUserId && UnixFileStatus.EffectiveUserId != 0)
        {
            throw new QueueConfigurationException(Path, $"The queue directory '{Path}' belongs to another user (uid {owner}), who could drive or replace the job's queue. Use a directory of your own.");
        }
    }

    private void CheckFile(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            throw new QueueConfigurationException(Path, $"The queue file '{path}' is a symbolic link (to '{info.LinkTarget}'); a queue file must be a regular file of its own. Remove the link and let RuntimeCtl create the file.");
        }

        if (Directory.Exists(path) || !info.Exists)
        {
            throw new QueueConfigurationException(Path, $"The queue file '{path}' is not a regular file. Remove it and let RuntimeCtl create the file.");
        }

        if (UnixFileStatus.TryGet(path, out _, out _, out _, out var isRegular) && !isRegular)
        {
            throw new QueueConfigurationException(Path, $"The queue file '{path}' is not a regular file. Remove it and let RuntimeCtl create the file.");
        }
    }
}
