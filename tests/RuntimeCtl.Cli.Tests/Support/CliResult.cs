using System.Text.Json;

namespace RuntimeCtl.Cli.Tests.Support;

/// <summary>The outcome of one in-process <c>runtimectl</c> run (a child process gives a <see cref="ProcessResult"/>).</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    /// <summary>The single line on stdout, parsed; fails when stdout is not exactly one line.</summary>
    public JsonElement Json => TempQueueDirectory.Parse(Assert.Single(StdoutLines));

    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs the CLI in-process, with its own writers and environment, and its web commands in this process too (as
/// <c>runtimectl-web</c> runs them; <c>runtimectl</c> hands them to that sibling, see SiblingDispatchTests).
/// </summary>
public static class InProcess
{
    public static CliResult Run(params string[] args) => Run(args, environment: new Dictionary<string, string?>());

    public static CliResult Run(string[] args, IReadOnlyDictionary<string, string?> environment, bool terminal = false, CancellationToken cancellationToken = default)
    {
        using var stdout = new StringWriter { NewLine = "\n" };
        using var stderr = new StringWriter { NewLine = "\n" };
        var exit = Cli.Run(args, stdout, stderr, environment, terminal, WebCommands.Instance, cancellationToken);
        return new CliResult(exit, stdout.ToString(), stderr.ToString());
    }

    public static CliResult Terminal(params string[] args) => Run(args, new Dictionary<string, string?>(), terminal: true);
}
