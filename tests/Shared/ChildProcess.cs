using System.Diagnostics;
using System.Text;

namespace RuntimeCtl.Testing;

/// <summary>
/// A real child process with its output collected as it comes (byte for byte, also while it runs): a bounded wait
/// that kills the whole process tree, and a dispose that never leaves a process behind.
/// </summary>
/// <remarks>
/// Every child starts with standard input closed, <c>TERM=dumb</c> (no colours or pagers), <c>DOTNET_NOLOGO=1</c>, and
/// without <c>RUNTIMECTL_QUEUE</c> (a test never depends on the queue of whoever runs it); <c>environment</c> adds to
/// that, a <see langword="null"/> value removing a variable.
/// </remarks>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private readonly Stopwatch _clock;

    private ChildProcess(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment, string? workingDirectory)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("RUNTIMECTL_QUEUE");
        start.Environment["TERM"] = "dumb";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        Description = $"{Path.GetFileName(fileName)} {string.Join(' ', start.ArgumentList)}";
        _process = new Process { StartInfo = start };
        _clock = Stopwatch.StartNew();
        _process.Start();
        _process.StandardInput.Close();
        _stdoutPump = Pump(_process.StandardOutput, _stdout);
        _stderrPump = Pump(_process.StandardError, _stderr);
    }

    /// <summary>Gets the program and its arguments, for messages.</summary>
    public string Description { get; }

    /// <summary>Gets the process id (to send it a signal, or to find its children).</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Gets what the process wrote on stdout so far.</summary>
    public string Stdout => Text(_stdout);

    /// <summary>Gets what the process wrote on stderr so far.</summary>
    public string Stderr => Text(_stderr);

    /// <summary>Gets the complete lines written on stdout so far.</summary>
    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            var text = Stdout;
            return ProcessResult.Lines(text[..(text.LastIndexOf('\n') + 1)]);
        }
    }

    /// <summary>Starts <paramref name="fileName"/> in the background.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null) =>
        new(fileName, arguments, environment, workingDirectory);

    /// <summary>Starts a .NET assembly with the <c>dotnet</c> host that runs the tests, in the background.</summary>
    public static ChildProcess StartDotnet(string assembly, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null) =>
        new(TestPaths.DotnetHost, ["exec", assembly, .. arguments], environment, null);

    /// <summary>Runs <paramref name="fileName"/> to its end; kills it and fails the test when it takes longer than <paramref name="timeout"/>.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        using var child = Start(fileName, arguments, environment, workingDirectory);
        return child.WaitForExit(timeout);
    }

    /// <summary>Runs a .NET assembly to its end, as <see cref="Run"/> does.</summary>
    public static ProcessResult RunDotnet(string assembly, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var child = StartDotnet(assembly, arguments, environment);
        return child.WaitForExit(timeout);
    }

    /// <summary>Runs a system program (mount, chown, mkfifo) to its end and fails the test unless it exits with 0.</summary>
    public static ProcessResult RunChecked(string fileName, params string[] arguments)
    {
        var result = Run(fileName, arguments, TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, $"'{result.Description}' failed.\n{result}");
        return result;
    }

    /// <summary>Waits for the process to end and for the rest of its output; kills it and fails the test when it outlives <paramref name="timeout"/>.</summary>
    public ProcessResult WaitForExit(TimeSpan timeout)
    {
        var result = WaitForExitOrKill(timeout);
        if (result.TimedOut)
        {
            Assert.Fail($"'{Description}' did not finish within {timeout.TotalSeconds} s and was killed.\n{result}");
        }

        return result;
    }

    /// <summary>Waits for the process to end, killing its whole tree once <paramref name="timeout"/> has passed (the result says so).</summary>
    public ProcessResult WaitForExitOrKill(TimeSpan timeout)
    {
        var timedOut = !_process.WaitForExit(timeout);
        if (timedOut)
        {
            Kill();
        }

        _process.WaitForExit();

        // A grandchild that inherited the pipes may hold them open after the process ended: wait a bounded time.
        Task.WaitAll([_stdoutPump, _stderrPump], TimeSpan.FromSeconds(30));
        _clock.Stop();
        return new ProcessResult(Description, _process.ExitCode, Stdout, Stderr, timedOut, _clock.Elapsed);
    }

    /// <summary>Kills the process and its children (SIGKILL: it gets no chance to finish a write) and waits for it to end.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(30_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended meanwhile.
        }
    }

    /// <summary>Gets the process, what it printed so far and whether it ended, for messages.</summary>
    public override string ToString() =>
        $"{Description} ({(HasExited ? "exited" : "running")})\n--- stdout ---\n{ProcessResult.Tail(Stdout)}\n--- stderr ---\n{ProcessResult.Tail(Stderr)}";

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private static Task Pump(StreamReader reader, StringBuilder text) => Task.Run(async () =>
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            lock (text)
            {
                text.Append(buffer, 0, read);
            }
        }
    });

    private static string Text(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }
}
