using System.Text.Json;

namespace RuntimeCtl;

/// <summary>A command bound to a control: ready to run, with the values its ack echoes.</summary>
internal readonly record struct BoundCommand<TContext>(
    Action<TContext> Run,
    IReadOnlyList<object?> EchoArgs,
    IEnumerable<KeyValuePair<string, object?>> EchoKwargs);

/// <summary>A registered control: its path, description, parameters, and how it binds a command.</summary>
internal abstract class Control<TContext>
{
    protected static readonly KeyValuePair<string, object?>[] NoKeywords = [];

    protected Control(string path, Delegate handler, string? description, Func<object?>? getValue)
    {
        Path = path;
        Handler = handler;
        Description = description;
        GetValue = getValue;
    }

    public string Path { get; }

    public Delegate Handler { get; }

    public string? Description { get; }

    public Func<object?>? GetValue { get; }

    /// <summary>Gets whether a command the trainer stopped while applying may be applied again on restart (an opt-in at Register).</summary>
    public bool SafeToRepeat { get; set; }

    public abstract IReadOnlyList<ControlParameter> Parameters { get; }

    /// <summary>
    /// Converts and validates the arguments (positional first, then keyword, as the original). Throws when they
    /// do not fit: the message becomes the <c>failed</c> ack's error.
    /// </summary>
    public abstract BoundCommand<TContext> Bind(IReadOnlyList<JsonElement> args, IReadOnlyDictionary<string, JsonElement> kwargs);

    protected static string[] ParameterNames(Delegate handler, int count)
    {
        var names = new string[count];
        try
        {
            var parameters = handler.Method.GetParameters();
            for (var i = 0; i < count; i++)
            {
                var name = parameters.Length == count + 1 ? parameters[i + 1].Name : null;
                names[i] = string.IsNullOrEmpty(name) ? $"arg{i}" : name;
            }
        }
        catch (NotSupportedException)
        {
            for (var i = 0; i < count; i++)
            {
                names[i] = $"arg{i}";
            }
        }

        return names;
    }

    protected void EnsureNoKeywords(IReadOnlyDictionary<string, JsonElement> kwargs)
    {
        foreach (var key in kwargs.Keys)
        {
            throw ArgumentBinder.UnexpectedKeyword(Path, key, []);
        }
    }

    protected void EnsureCount(IReadOnlyList<JsonElement> args, int count)
    {
        if (args.Count == count)
        {
            return;
        }

        throw new ControlArgumentException(count == 0
            ? $"{Path} takes no positional args"
            : $"{Path} expects exactly {count} positional arg{(count == 1 ? string.Empty : "s")}, got {args.Count}");
    }
}

/// <summary>A control with typed positional parameters (0 to 3) and no keyword arguments.</summary>
internal sealed class PositionalControl<TContext> : Control<TContext>
{
    private readonly Type[] _types;
    private readonly string[] _names;
    private readonly Func<object?[], object?[]>? _validate;
    private readonly Action<TContext, object?[]> _invoke;

    public PositionalControl(
        string path,
        Delegate handler,
        Type[] types,
        Func<object?[], object?[]>? validate,
        Action<TContext, object?[]> invoke,
        string? description,
        Func<object?>? getValue)
        : base(path, handler, description, getValue)
    {
        _types = types;
        _names = ParameterNames(handler, types.Length);
        _validate = validate;
        _invoke = invoke;
        Parameters = types.Select((t, i) => new ControlParameter(_names[i], ArgumentBinder.JsonTypeOf(t), Required: true)).ToArray();
    }

    public override IReadOnlyList<ControlParameter> Parameters { get; }

    public override BoundCommand<TContext> Bind(IReadOnlyList<JsonElement> args, IReadOnlyDictionary<string, JsonElement> kwargs)
    {
        EnsureCount(args, _types.Length);
        var values = new object?[_types.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ArgumentBinder.Convert(args[i], _types[i], $"{Path}: argument {i + 1} ({_names[i]})");
        }

        if (_validate is not null)
        {
            values = _validate(values);
        }

        EnsureNoKeywords(kwargs);
        return new BoundCommand<TContext>(ctx => _invoke(ctx, values), values, NoKeywords);
    }
}

/// <summary>A control whose keyword arguments bind to the properties of an options type.</summary>
internal sealed class OptionsControl<TContext, [System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(OptionsBinder.Members)] TOptions> : Control<TContext>
    where TOptions : new()
{
    private readonly OptionsBinder<TOptions> _binder = new();
    private readonly Action<TContext, TOptions> _apply;
    private readonly Func<TOptions, TOptions>? _validate;

    public OptionsControl(string path, Action<TContext, TOptions> apply, Func<TOptions, TOptions>? validate, string? description, Func<object?>? getValue)
        : base(path, apply, description, getValue)
    {
        _apply = apply;
        _validate = validate;
    }

    public override IReadOnlyList<ControlParameter> Parameters => _binder.Parameters;

    public override BoundCommand<TContext> Bind(IReadOnlyList<JsonElement> args, IReadOnlyDictionary<string, JsonElement> kwargs)
    {
        EnsureCount(args, 0);
        var (options, echo) = _binder.Bind(Path, kwargs);
        if (_validate is not null)
        {
            options = _validate(options) ?? throw new InvalidOperationException($"The validator of {Path} returned null; return the options (the same object or new ones).");
        }

        return new BoundCommand<TContext>(ctx => _apply(ctx, options), [], echo);
    }
}

/// <summary>A control that sees the command's JSON arguments as they are.</summary>
internal sealed class RawControl<TContext> : Control<TContext>
{
    private static readonly ControlParameter[] AnyParameters = [new("args", "array", Required: false), new("kwargs", "object", Required: false, Keyword: true)];

    private readonly Action<TContext, ControlArguments> _apply;
    private readonly Func<ControlArguments, ControlArguments>? _validate;

    public RawControl(string path, Action<TContext, ControlArguments> apply, Func<ControlArguments, ControlArguments>? validate, string? description, Func<object?>? getValue, IReadOnlyList<ControlParameter>? parameters)
        : base(path, apply, description, getValue)
    {
        _apply = apply;
        _validate = validate;
        Parameters = parameters ?? AnyParameters;
    }

    public override IReadOnlyList<ControlParameter> Parameters { get; }

    public override BoundCommand<TContext> Bind(IReadOnlyList<JsonElement> args, IReadOnlyDictionary<string, JsonElement> kwargs)
    {
        var arguments = new ControlArguments(args, kwargs);
        if (_validate is not null)
        {
            arguments = _validate(arguments) ?? throw new InvalidOperationException($"The validator of {Path} returned null; return the arguments (or new ones from WithArgs).");
        }

        var echoArgs = arguments.Args.Select(a => (object?)a).ToArray();
        var echoKwargs = arguments.Kwargs.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value));
        return new BoundCommand<TContext>(ctx => _apply(ctx, arguments), echoArgs, echoKwargs);
    }
}
