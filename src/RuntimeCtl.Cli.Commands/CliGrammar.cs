using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using RuntimeCtl.Cli.Remote;

namespace RuntimeCtl.Cli;

/// <summary>
/// The command line of <c>runtimectl</c>, as the original: one list of words and options anywhere among them. The
/// first word is the control's path; <c>status</c> or <c>controls</c> alone (no other word) are the reports.
/// </summary>
internal sealed class CliGrammar
{
    /// <summary>The environment variable that stands for <c>-q</c> when it is not given.</summary>
    public const string QueueVariable = "RUNTIMECTL_QUEUE";

    /// <summary>What a command says when its queue directory does not exist: which one, where it was named, and who creates it.</summary>
    /// <param name="directory">The directory, as the user named it.</param>
    /// <param name="check">Where the user named it, to check; the default is <c>-q</c> and <see cref="QueueVariable"/>.</param>
    public static string NoQueueDirectory(string directory, string check = "-q/" + QueueVariable) =>
        $"there is no queue directory '{directory}'. Check {check}; the trainer creates it when it starts (or the first command sent does).";

    /// <summary>The default of <c>--timeout</c>.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The default of <c>--last</c>.</summary>
    public const int DefaultLast = 10;

    private const string Description = """
        Steer a running training loop through its queue directory.

          runtimectl -q DIR PATH [ARG...] [--kwargs JSON] [--at-step N] [--wait [--timeout S]] [--force]
              Queue a command for the control PATH and print it as one JSON line. Each ARG is the JSON
              value it parses as (0.5, true, null, [1,2], "0.5"), else a plain string (manual).
              A value that starts with '-' and is not a number goes after '--'.
          runtimectl -q DIR status [--last N] [--json] [--follow]
              Line counts, the trainer's liveness and the last N acks (JSON when piped).
              With --follow: the last N ack lines, then each new ack line as it comes (Ctrl-C ends).
          runtimectl -q DIR controls [--json]
              The trainer's registered controls, their parameters and current values.
          runtimectl -q DIR serve [--port P] [--host 127.0.0.1 [--allow-remote]] [--open]
              A web dashboard of the job: controls, commands and acks, metrics. Prints its URL with a
              one-time token; every request needs that token.
          runtimectl -q DIR mcp [--allow PATTERN]...
              A Model Context Protocol server on stdio, for an AI agent: list_controls, send_command (waits
              for the ack), get_status, get_metrics. train.stop and load_ckpt only if --allow names them.
          runtimectl -q DIR history [--json] [--status applied|rejected|failed|pending]
              Every command of the queue in file order with its outcome and step (JSON lines when piped).
          runtimectl -q NEW replay --from OLD [--dry-run] [--append]
              Queue into NEW every command applied in OLD, each with at_step = the step it was applied at,
              so a fresh run on NEW applies them at the same steps.
          runtimectl --url URL [--token T] PATH [ARG...] | status | controls | history  (same options)
              The same commands through the dashboard of a job on another machine ('runtimectl serve'; its
              printed URL works as it is). Loopback addresses only, unless --allow-remote: reach a cluster
              node with 'ssh -L 8765:127.0.0.1:PORT NODE' and --url http://127.0.0.1:8765/?token=...
          A control whose path is one of the words controls, serve, mcp, history or replay is sent with '--'
          before it: runtimectl -q DIR -- history (status alone is always the report, as the original's).

        Exit codes: 0 done (with --wait: applied), 1 error, 2 usage error or refused,
        3 rejected, 4 failed, 5 no ack before the timeout.
        """;

    private readonly Argument<string[]> _words = new("words")
    {
        Arity = ArgumentArity.ZeroOrMore,
        HelpName = "PATH [ARG...] | status | controls",
        Description = "The control's path and its positional arguments, or 'status' or 'controls' alone.",
    };

    private readonly Option<string> _queue = new("--queue", "-q")
    {
        HelpName = "DIR",
        Description = $"The job's queue directory. Default: ${QueueVariable}.",
    };

    private readonly Option<string> _kwargs = new("--kwargs")
    {
        HelpName = "JSON",
        Description = "Keyword arguments: a JSON object, or null for none.",
    };

    private readonly Option<string> _atStep = new("--at-step")
    {
        HelpName = "N",
        Description = "Hold the command until the trainer's first poll at step N or later.",
    };

    private readonly Option<bool> _wait = new("--wait")
    {
        Arity = ArgumentArity.Zero,
        Description = "Wait for the command's ack, print it as a second line and exit by its status.",
    };

    private readonly Option<string> _timeout = new("--timeout")
    {
        HelpName = "SECONDS",
        Description = "With --wait: how long to wait for the ack. Default: 60.",
    };

    private readonly Option<bool> _force = new("--force")
    {
        Arity = ArgumentArity.Zero,
        Description = "Send the command even if the running trainer has no control with that path.",
    };

    private readonly Option<bool> _allowShared = new("--allow-shared")
    {
        Arity = ArgumentArity.Zero,
        Description = "Accept a group-writable queue directory (a team sharing a job on purpose).",
    };

    private readonly Option<bool> _allowNetworkFs = new("--allow-network-fs")
    {
        Arity = ArgumentArity.Zero,
        Description = "With status: do not warn that the queue directory is on a network or FUSE file system.",
    };

    private readonly Option<string> _last = new("--last")
    {
        HelpName = "N",
        Description = "With status: how many of the last acks to show. Default: 10.",
    };

    private readonly Option<bool> _json = new("--json")
    {
        Arity = ArgumentArity.Zero,
        Description = "With status or controls: print JSON even on a terminal.",
    };

    private readonly Option<bool> _follow = new("--follow")
    {
        Arity = ArgumentArity.Zero,
        Description = "With status: after the last acks, print each new ack line as it comes, until Ctrl-C.",
    };

    private readonly Option<string> _port = new("--port")
    {
        HelpName = "P",
        Description = "With serve: the TCP port (0 picks a free one). Default: 0.",
    };

    private readonly Option<string> _host = new("--host")
    {
        HelpName = "ADDRESS",
        Description = "With serve: the address to listen on. Default: 127.0.0.1; another needs --allow-remote.",
    };

    private readonly Option<bool> _allowRemote = new("--allow-remote")
    {
        Arity = ArgumentArity.Zero,
        Description = "With serve: allow --host to be an address other machines can reach. With --url: allow a dashboard on another machine.",
    };

    private readonly Option<bool> _open = new("--open")
    {
        Arity = ArgumentArity.Zero,
        Description = "With serve: open the page in a browser ($BROWSER, else xdg-open) without putting the token on its command line.",
    };

    private readonly Option<string> _status = new("--status")
    {
        HelpName = "STATUS",
        Description = "With history: only commands with this outcome (applied, rejected, failed, pending).",
    };

    private readonly Option<string> _from = new("--from")
    {
        HelpName = "DIR",
        Description = "With replay: the queue directory of the run to reproduce.",
    };

    private readonly Option<bool> _dryRun = new("--dry-run")
    {
        Arity = ArgumentArity.Zero,
        Description = "With replay: print the commands it would queue, write nothing.",
    };

    private readonly Option<bool> _append = new("--append")
    {
        Arity = ArgumentArity.Zero,
        Description = "With replay: queue even though the new queue has commands already.",
    };

    private readonly Option<string[]> _allow = new("--allow")
    {
        HelpName = "PATTERN",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        Description = "With mcp: a control the agent may send to ('*' stands for any characters). Repeatable. Default: all but train.stop and load_ckpt.",
    };

    private readonly Option<string> _url = new("--url")
    {
        HelpName = "URL",
        Description = "Talk to the job's dashboard ('runtimectl serve') at URL instead of a queue directory. Loopback only unless --allow-remote.",
    };

    private readonly Option<string> _token = new("--token")
    {
        HelpName = "TOKEN",
        Description = $"With --url: the dashboard's access token. Default: ${RemoteEndpoint.TokenVariable}, else the URL's ?token=.",
    };

    private readonly VersionOption _version = new();

    private readonly Command _root;

    private readonly ParserConfiguration _configuration = new() { ResponseFileTokenReplacer = null };

    public CliGrammar()
    {
        // A plain Command rather than a RootCommand: no directives ('[x]' is a value), and the name in the help
        // is 'runtimectl' even when it runs inside another process (the tests).
        _root = new Command("runtimectl", Description)
        {
            _words, _queue, _kwargs, _atStep, _wait, _timeout, _force, _allowShared, _allowNetworkFs, _last, _json, _follow, _port, _host, _allowRemote, _open, _status, _from, _dryRun, _append, _allow, _url, _token,
            new HelpOption(),
            _version,
        };
    }

    /// <summary>Parses the command line (no checks beyond System.CommandLine's own).</summary>
    public ParseResult Parse(IReadOnlyList<string> args) => _root.Parse(args, _configuration);

    /// <summary>Whether the command line asks for the help or the version, which System.CommandLine prints itself.</summary>
    public bool IsHelpOrVersion(ParseResult parse) =>
        parse.Action is HelpAction || (parse.Errors.Count == 0 && Given(parse, _version));

    /// <summary>Checks a parsed command line and turns it into a request.</summary>
    /// <exception cref="UsageException">The command line is wrong; the message says how.</exception>
    public CliRequest Bind(ParseResult parse, Func<string, string?> environment)
    {
        if (parse.Errors.Count > 0)
        {
            throw new UsageException(string.Join(Environment.NewLine, parse.Errors.Select(e => e.Message)));
        }

        var words = parse.GetValue(_words) ?? [];
        CheckForUnknownOptions(parse, words);
        if (words.Length == 0)
        {
            throw new UsageException("missing PATH: give a control's path (and its arguments), or 'status' or 'controls'.");
        }

        var remote = Remote(parse, environment);
        var queue = remote?.Label ?? QueueDirectory(parse, environment);
        var request = Bind(parse, words, queue);
        if (remote is null)
        {
            if (Given(parse, _allowRemote) && request is not ServeRequest)
            {
                throw new UsageException("--allow-remote applies only with serve --host ADDRESS or with --url URL.");
            }

            return request;
        }

        if (request is ServeRequest or ReplayRequest or McpRequest)
        {
            throw new UsageException($"--url does not apply to {request switch { ServeRequest => "serve", ReplayRequest => "replay", _ => "mcp" }}: run it on the job's machine (an MCP client can start it there over ssh).");
        }

        Refuse(parse, "--url", _allowShared, _allowNetworkFs, _follow, _allow);
        return request with { Remote = remote };
    }

    private RemoteEndpoint? Remote(ParseResult parse, Func<string, string?> environment)
    {
        if (!Given(parse, _url))
        {
            return Given(parse, _token) ? throw new UsageException("--token applies only with --url URL.") : null;
        }

        if (Given(parse, _queue))
        {
            throw new UsageException("give -q DIR (a queue directory here) or --url URL (a dashboard), not both.");
        }

        return RemoteEndpoint.Parse(parse.GetValue(_url) ?? string.Empty, Given(parse, _token) ? parse.GetValue(_token) : null, environment, Given(parse, _allowRemote));
    }

    private CliRequest Bind(ParseResult parse, string[] words, string queue)
    {
        // A report word alone is a report; after '--' it is a control's path ('runtimectl -q DIR -- history').
        // ('status' stays the report either way, as the original's.)
        var isReport = words.Length == 1 && (words[0] == "status" || (words[0] is "controls" or "serve" or "mcp" or "history" or "replay" && !AfterDoubleDash(parse, words.Length)));
        if (isReport && words[0] == "history")
        {
            Refuse(parse, "history", _kwargs, _atStep, _wait, _timeout, _force, _last, _follow, _port, _host, _allowNetworkFs, _open, _from, _dryRun, _append, _allow);
            var status = Given(parse, _status) ? parse.GetValue(_status) : null;
            if (status is not (null or "applied" or "rejected" or "failed" or "pending"))
            {
                throw new UsageException($"--status must be applied, rejected, failed or pending, got '{status}'.");
            }

            return new HistoryRequest(queue, Given(parse, _json), status);
        }

        if (isReport && words[0] == "replay")
        {
            Refuse(parse, "replay", _kwargs, _atStep, _wait, _timeout, _force, _last, _json, _follow, _port, _host, _allowNetworkFs, _open, _status, _allow);
            var from = parse.GetValue(_from);
            if (!Given(parse, _from) || string.IsNullOrWhiteSpace(from))
            {
                throw new UsageException("replay needs --from OLD, the queue directory of the run to reproduce.");
            }

            return new ReplayRequest(queue, from, Given(parse, _dryRun), Given(parse, _append), Given(parse, _allowShared));
        }

        if (isReport && words[0] == "status")
        {
            Refuse(parse, "status", _kwargs, _atStep, _wait, _timeout, _force, _port, _host, _open, _status, _from, _dryRun, _append, _allow);
            return new StatusRequest(queue, Last(parse), Given(parse, _json), Given(parse, _follow), Given(parse, _allowNetworkFs));
        }

        if (isReport && words[0] == "mcp")
        {
            Refuse(parse, "mcp", _kwargs, _atStep, _wait, _timeout, _force, _last, _json, _follow, _port, _host, _allowNetworkFs, _open, _status, _from, _dryRun, _append);
            return new McpRequest(queue, parse.GetValue(_allow) ?? [], Given(parse, _allowShared));
        }

        if (isReport && words[0] == "serve")
        {
            Refuse(parse, "serve", _kwargs, _atStep, _wait, _timeout, _force, _last, _json, _follow, _allowNetworkFs, _status, _from, _dryRun, _append, _allow);
            return new ServeRequest(queue, Host(parse), Port(parse), Given(parse, _allowShared), Given(parse, _open));
        }

        if (isReport)
        {
            Refuse(parse, "controls", _kwargs, _atStep, _wait, _timeout, _force, _last, _follow, _port, _host, _allowNetworkFs, _open, _status, _from, _dryRun, _append, _allow);
            return new ControlsRequest(queue, Given(parse, _json));
        }

        Refuse(parse, "sending a command", _last, _json, _follow, _port, _host, _allowNetworkFs, _open, _status, _from, _dryRun, _append, _allow);
        var path = words[0];
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException("the control's path is empty.");
        }

        var wait = Given(parse, _wait);
        if (!wait && Given(parse, _timeout))
        {
            throw new UsageException("--timeout applies only with --wait.");
        }

        return new SendRequest(
            queue,
            path,
            words.Skip(1).Select(ArgumentValues.Parse).ToArray(),
            ArgumentValues.ParseKwargs(parse.GetValue(_kwargs)),
            AtStep(parse),
            wait,
            Timeout(parse),
            Given(parse, _force),
            Given(parse, _allowShared));
    }

    private string QueueDirectory(ParseResult parse, Func<string, string?> environment)
    {
        if (Given(parse, _queue))
        {
            var given = parse.GetValue(_queue);
            return string.IsNullOrWhiteSpace(given)
                ? throw new UsageException("-q/--queue needs a directory, got an empty one.")
                : given;
        }

        var fromEnvironment = environment(QueueVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment)
            ? throw new UsageException($"no queue directory: give -q DIR (or --queue DIR), or set {QueueVariable}.")
            : fromEnvironment;
    }

    /// <summary>
    /// System.CommandLine takes an unknown '-x' for a value. A negative number is one (<c>-0.5</c>); anything else
    /// that looks like an option is a typo (<c>--kwarg</c>), unless it comes after <c>--</c>.
    /// </summary>
    /// <summary>Whether the first word came after <c>--</c> (every word is then an argument after it).</summary>
    private static bool AfterDoubleDash(ParseResult parse, int words)
    {
        var after = 0;
        var seen = false;
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                seen = true;
            }
            else if (seen && token.Type == TokenType.Argument)
            {
                after++;
            }
        }

        return seen && after >= words;
    }

    private static void CheckForUnknownOptions(ParseResult parse, string[] words)
    {
        var afterDoubleDash = 0;
        var seen = false;
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                seen = true;
            }
            else if (seen && token.Type == TokenType.Argument)
            {
                afterDoubleDash++;
            }
        }

        foreach (var word in words.AsSpan(0, Math.Max(0, words.Length - afterDoubleDash)))
        {
            if (word.Length > 1 && word[0] == '-' && !ArgumentValues.IsNumber(word))
            {
                throw new UsageException($"unknown option '{word}'. A value that starts with '-' goes after '--', e.g. runtimectl -q DIR PATH -- {word}");
            }
        }
    }

    private int Last(ParseResult parse)
    {
        if (!Given(parse, _last))
        {
            return DefaultLast;
        }

        var text = parse.GetValue(_last);
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var last))
        {
            throw new UsageException($"--last must be a whole number of acks, got '{text}'.");
        }

        return last < 0 ? throw new UsageException($"--last must be 0 or more, got {last}.") : last;
    }

    private int Port(ParseResult parse)
    {
        if (!Given(parse, _port))
        {
            return 0;
        }

        var text = parse.GetValue(_port);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : throw new UsageException($"--port must be a TCP port from 0 to 65535 (0 picks a free one), got '{text}'.");
    }

    private System.Net.IPAddress Host(ParseResult parse)
    {
        if (!Given(parse, _host))
        {
            return Given(parse, _allowRemote)
                ? throw new UsageException("--allow-remote applies only with --host ADDRESS.")
                : System.Net.IPAddress.Loopback;
        }

        var text = parse.GetValue(_host);
        var address = text == "localhost" ? System.Net.IPAddress.Loopback
            : System.Net.IPAddress.TryParse(text, out var parsed) ? parsed
            : throw new UsageException($"--host must be an IP address such as 127.0.0.1, got '{text}'.");
        if (!System.Net.IPAddress.IsLoopback(address) && !Given(parse, _allowRemote))
        {
            throw new UsageException($"--host {text} lets other machines reach the dashboard, which can steer the job. Add --allow-remote if that is what you want (and keep the token secret), or use 127.0.0.1 with an SSH tunnel.");
        }

        return address;
    }

    private long? AtStep(ParseResult parse)
    {
        if (!Given(parse, _atStep))
        {
            return null;
        }

        var text = parse.GetValue(_atStep);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var step))
        {
            throw new UsageException($"--at-step must be a whole step number, got '{text}'.");
        }

        return step < 0 ? throw new UsageException($"--at-step must be 0 or more, got {step}.") : step;
    }

    private TimeSpan Timeout(ParseResult parse)
    {
        if (!Given(parse, _timeout))
        {
            return DefaultTimeout;
        }

        var text = parse.GetValue(_timeout);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds))
        {
            throw new UsageException($"--timeout must be a number of seconds, got '{text}'.");
        }

        return seconds is < 0 or > 365 * 24 * 3600
            ? throw new UsageException($"--timeout must be between 0 and one year of seconds, got {text}.")
            : TimeSpan.FromSeconds(seconds);
    }

    private static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    private static void Refuse(ParseResult parse, string what, params Option[] options)
    {
        foreach (var option in options)
        {
            if (Given(parse, option))
            {
                throw new UsageException($"{option.Name} does not apply to {what}.");
            }
        }
    }
}
