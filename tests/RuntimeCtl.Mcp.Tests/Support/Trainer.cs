using System.Diagnostics;
using System.Text;

namespace RuntimeCtl.Mcp.Tests.Support;

/// <summary>A real trainer process (QuickStart or TorchSharpTraining) polling a fresh queue directory; killed and the directory removed at dispose.</summary>
public sealed class Trainer : IDisposable
{
    private readonly Process? _process;
    private readonly StringBuilder _output = new();

    private Trainer(string? assembly, IEnumerable<string> arguments)
    {
        Root = Path.Combine(Path.GetTempPath(), "rtc-mcp-tests", Guid.NewGuid().ToString("N")[..12]);
        Dir = Path.Combine(Root, "q");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Dir);
        }
        else
        {
            Directory.CreateDirectory(Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        if (assembly is null)
        {
            return;
        }

        var start = new ProcessStartInfo(Executables.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in (string[])["exec", assembly, "--queue", Dir, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!File.Exists(Path.Combine(Dir, "controller.json")))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                Dispose();
                throw new InvalidOperationException($"the trainer did not start polling {Dir}: {Output}");
            }

            Thread.Sleep(20);
        }
    }

    public string Root { get; }

    public string Dir { get; }

    public string Commands => Path.Combine(Dir, "commands.jsonl");

    public string[] CommandLines => File.Exists(Commands) ? File.ReadAllLines(Commands) : [];

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>A QuickStart polling every 50 ms.</summary>
    public static Trainer QuickStart() => new(Executables.QuickStart, ["--every-s", "0.05", "--step-delay-ms", "5"]);

    /// <summary>The main job, slowed so that a session sees it running.</summary>
    public static Trainer TorchSharpTraining(params string[] options) => new(Executables.TorchSharpTraining, options);

    /// <summary>A queue directory no trainer polls.</summary>
    public static Trainer None() => new(null, []);

    /// <summary>Waits for the trainer to exit by itself; its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        Assert.NotNull(_process);
        Assert.True(_process.WaitForExit(timeout), "the trainer did not exit: " + Output);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
