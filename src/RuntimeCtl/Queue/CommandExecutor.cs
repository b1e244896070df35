using System.Reflection;
using System.Text.Json;

namespace RuntimeCtl;

/// <summary>What one rank did with one command.</summary>
internal readonly record struct Outcome<TContext>(AckStatus Status, string? Error, BoundCommand<TContext> Bound);

/// <summary>The checks of a command before its control runs, in the original's order (args a list, kwargs an object, op "set", a known path), then the control.</summary>
internal static class CommandExecutor
{
    private static readonly Dictionary<string, JsonElement> NoKwargs = new(StringComparer.Ordinal);

    public static Outcome<TContext> Execute<TContext>(Dictionary<string, Control<TContext>> controls, TContext context, CommandLine line)
    {
        if (line.Args is { ValueKind: not JsonValueKind.Array })
        {
            return Rejected<TContext>("command args must be a list");
        }

        if (line.Kwargs is { ValueKind: not JsonValueKind.Object })
        {
            return Rejected<TContext>("command kwargs must be an object");
        }

        if (line.Op is { } op && !(op.ValueKind == JsonValueKind.String && op.ValueEquals("set"u8)))
        {
            return Rejected<TContext>("unsupported op: " + line.OpText());
        }

        if (line.PathText is not { } path || !controls.TryGetValue(path, out var control))
        {
            return Rejected<TContext>("unknown path: " + line.PathForMessage());
        }

        try
        {
            // Parsed only now, and only when the command has some: most commands have none.
            var args = line.ArgumentValues();
            var kwargs = line.KeywordValues() ?? NoKwargs;

            var bound = control.Bind(args, kwargs);
            bound.Run(context);
            return new Outcome<TContext>(AckStatus.Applied, null, bound);
        }
        catch (Exception e)
        {
            return new Outcome<TContext>(AckStatus.Failed, Message(e), default);
        }
    }

    /// <summary>The message of what a control threw, as the original's <c>str(e)</c>: the message alone.</summary>
    public static string Message(Exception e)
    {
        while (e is TargetInvocationException { InnerException: { } inner })
        {
            e = inner;
        }

        if (e is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            e = aggregate.InnerExceptions[0];
        }

        var message = e is ArgumentException { ParamName: { } name } argument && argument.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
            ? argument.Message[..^$" (Parameter '{name}')".Length]
            : e.Message;
        return string.IsNullOrEmpty(message) ? e.GetType().Name : message;
    }

    private static Outcome<TContext> Rejected<TContext>(string error) => new(AckStatus.Rejected, error, default);
}
