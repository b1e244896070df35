using System.Diagnostics;
using System.Text;

namespace RuntimeCtl.Cli.Tests.Support;

/// <summary>A real child process (a .NET assembly run by the dotnet host), killed with its children when disposed or timed out.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly string _description;

    private ChildProcess(string assembly, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment)
    {
        var start = new ProcessStartInfo(ExecutablePaths.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A test never depends on the queue of whoever runs it.
        start.Environment.Remove("RUNTIMECTL_QUEUE");
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

        _description = $"{Path.GetFileName(assembly)} {string.Join(' ', start.ArgumentList.Skip(2))}";
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.Start();
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static ChildProcess Start(string assembly, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null) =>
        new(assembly, arguments, environment);

    /// <summary>Runs to completion; kills the process and fails the test if it takes longer than <paramref name="timeout"/>.</summary>
    public static CliResult Run(string assembly, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var child = Start(assembly, arguments, environment);
        return child.WaitForExit(timeout);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Gets the process id (to send it a signal).</summary>
    public int Id => _process.Id;

    public string StdoutSoFar
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public CliResult WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            Assert.Fail($"'{_description}' did not finish within {timeout.TotalSeconds} s and was killed.\n--- stdout ---\n{StdoutSoFar}\n--- stderr ---\n{Text(_stderr)}");
        }

        // The parameterless wait also waits for the end of the redirected streams.
        _process.WaitForExit();
        return new CliResult(_process.ExitCode, Text(_stdout), Text(_stderr));
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (text)
        {
            text.Append(line).Append('\n');
        }
    }

    private static string Text(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }
}
