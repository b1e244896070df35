using System.Diagnostics.CodeAnalysis;

namespace RuntimeCtl;

/// <content>Registering controls.</content>
public sealed partial class RuntimeController<TContext>
{
    /// <summary>Registers a control that takes no arguments, e.g. <c>save_ckpt</c> without options.</summary>
    /// <param name="path">The name senders use, e.g. <c>train.pause</c>.</param>
    /// <param name="apply">Runs the control with the loop's context.</param>
    /// <param name="description">A one-line description for <c>runtimectl controls</c>.</param>
    /// <param name="getValue">Returns the control's current value for <c>controller.json</c>, or <see langword="null"/>.</param>
    /// <param name="overwrite">Replace an existing control of that path instead of keeping it.</param>
    /// <param name="safeToRepeat">Whether applying the control twice does no harm (setting a value, saving a checkpoint), so a
    /// command the trainer was killed while applying is applied again on restart instead of being acked
    /// <c>failed</c> with "effect unknown".</param>
    /// <returns>This controller.</returns>
    /// <exception cref="ControlRegistrationException">The path is taken by a different handler and <paramref name="overwrite"/> is false.</exception>
    /// <remarks>Registering the same handler again does nothing (idempotent, as the original).</remarks>
    public RuntimeController<TContext> Register(string path, Action<TContext> apply, string? description = null, Func<object?>? getValue = null, bool overwrite = false, bool safeToRepeat = false)
    {
        ArgumentNullException.ThrowIfNull(apply);
        return Add(new PositionalControl<TContext>(path, apply, [], null, (ctx, _) => apply(ctx), description, getValue), overwrite, safeToRepeat);
    }

    /// <summary>Registers a control with one typed positional argument, e.g. <c>optimizer.lr.multiplier 0.5</c>.</summary>
    /// <typeparam name="T1">The argument's type: a number type, <see cref="bool"/>, <see cref="string"/>, an enum, or <see cref="System.Text.Json.JsonElement"/>.</typeparam>
    /// <param name="path">The name senders use.</param>
    /// <param name="apply">Runs the control with the loop's context and the converted argument.</param>
    /// <param name="validate">Checks (and may adjust) the converted value before <paramref name="apply"/>; throw to refuse it. The returned value is echoed in the ack.</param>
    /// <param name="description">A one-line description for <c>runtimectl controls</c>.</param>
    /// <param name="getValue">Returns the control's current value for <c>controller.json</c>, or <see langword="null"/>.</param>
    /// <param name="overwrite">Replace an existing control of that path instead of keeping it.</param>
    /// <param name="safeToRepeat">Whether applying the control twice does no harm (setting a value, saving a checkpoint), so a
    /// command the trainer was killed while applying is applied again on restart instead of being acked
    /// <c>failed</c> with "effect unknown".</param>
    /// <returns>This controller.</returns>
    /// <exception cref="ControlRegistrationException">The path is taken by a different handler and <paramref name="overwrite"/> is false.</exception>
    /// <remarks>
    /// A command with another number of positional arguments, a value that does not convert (a JSON number or a
    /// numeric string for number types; booleans and null are not numbers), or any keyword argument gets a
    /// <c>failed</c> ack that says what was wrong.
    /// </remarks>
    public RuntimeController<TContext> Register<T1>(string path, Action<TContext, T1> apply, Func<T1, T1>? validate = null, string? description = null, Func<object?>? getValue = null, bool overwrite = false, bool safeToRepeat = false)
    {
        ArgumentNullException.ThrowIfNull(apply);
        return Add(
            new PositionalControl<TContext>(
                path,
                apply,
                [typeof(T1)],
                validate is null ? null : v => [validate((T1)v[0]!)],
                (ctx, v) => apply(ctx, (T1)v[0]!),
                description,
                getValue),
            overwrite, safeToRepeat);
    }

    /// <summary>Registers a control with two typed positional arguments.</summary>
    /// <typeparam name="T1">The first argument's type (see <see cref="Register{T1}"/>).</typeparam>
    /// <typeparam name="T2">The second argument's type.</typeparam>
    /// <param name="path">The name senders use.</param>
    /// <param name="apply">Runs the control with the loop's context and the converted arguments.</param>
    /// <param name="validate">Checks (and may adjust) the converted values before <paramref name="apply"/>; throw to refuse them. The returned values are what <paramref name="apply"/> gets and the ack echoes.</param>
    /// <param name="description">A one-line description for <c>runtimectl controls</c>.</param>
    /// <param name="getValue">Returns the control's current value for <c>controller.json</c>, or <see langword="null"/>.</param>
    /// <param name="overwrite">Replace an existing control of that path instead of keeping it.</param>
    /// <param name="safeToRepeat">Whether applying the control twice does no harm (setting a value, saving a checkpoint), so a
    /// command the trainer was killed while applying is applied again on restart instead of being acked
    /// <c>failed</c> with "effect unknown".</param>
    /// <returns>This controller.</returns>
    /// <exception cref="ControlRegistrationException">The path is taken by a different handler and <paramref name="overwrite"/> is false.</exception>
    public RuntimeController<TContext> Register<T1, T2>(string path, Action<TContext, T1, T2> apply, Func<T1, T2, (T1, T2)>? validate = null, string? description = null, Func<object?>? getValue = null, bool overwrite = false, bool safeToRepeat = false)
    {
        ArgumentNullException.ThrowIfNull(apply);
        return Add(
            new PositionalControl<TContext>(
                path,
                apply,
                [typeof(T1), typeof(T2)],
                validate is null ? null : v =>
                {
                    var (a, b) = validate((T1)v[0]!, (T2)v[1]!);
                    return [a, b];
                },
                (ctx, v) => apply(ctx, (T1)v[0]!, (T2)v[1]!),
                description,
                getValue),
            overwrite, safeToRepeat);
    }

    /// <summary>Registers a control with three typed positional arguments.</summary>
    /// <typeparam name="T1">The first argument's type (see <see cref="Register{T1}"/>).</typeparam>
    /// <typeparam name="T2">The second argument's type.</typeparam>
    /// <typeparam name="T3">The third argument's type.</typeparam>
    /// <param name="path">The name senders use.</param>
    /// <param name="apply">Runs the control with the loop's context and the converted arguments.</param>
    /// <param name="validate">Checks (and may adjust) the converted values before <paramref name="apply"/>; throw to refuse them. The returned values are what <paramref name="apply"/> gets and the ack echoes.</param>
    /// <param name="description">A one-line description for <c>runtimectl controls</c>.</param>
    /// <param name="getValue">Returns the control's current value for <c>controller.json</c>, or <see langword="null"/>.</param>
    /// <param name="overwrite">Replace an existing control of that path instead of keeping it.</param>
    /// <param name="safeToRepeat">Whether applying the control twice does no harm (setting a value, saving a checkpoint), so a
    /// command the trainer was killed while applying is applied again on restart instead of being acked
    /// <c>failed</c> with "effect unknown".</param>
    /// <returns>This controller.</returns>
    /// <exception cref="ControlRegistrationException">The path is taken by a different handler and <paramref name="overwrite"/> is false.</exception>
    public RuntimeController<TContext> Register<T1, T2, T3>(string path, Action<TContext, T1, T2, T3> apply, Func<T1, T2, T3, (T1, T2, T3)>? validate = null, string? description = null, Func<object?>? getValue = null, bool overwrite = false, bool safeToRepeat = false)
    {
        ArgumentNullException.ThrowIfNull(apply);
        return Add(
            new PositionalControl<TContext>(
                path,
                apply,
                [typeof(T1), typeof(T2), typeof(T3)],
                validate is null ? null : v =>
                {
                    var (a, b, c) = validate((T1)v[0]!, (T2)v[1]!, (T3)v[2]!);
                    return [a, b, c];
                },
                (ctx, v) => apply(ctx, (T1)v[0]!, (T2)v[1]!, (T3)v[2]!),
                description,
                getValue),
            overwrite, safeToRepeat);
    }

    /// <summary>
    /// Registers a control whose keyword arguments bind to the settable public properties of
    /// <typeparamref name="TOptions"/>, e.g. <c>save_ckpt --kwargs '{"label":"best"}'</c> into <c>SaveOptions.Label</c>.
    /// </summary>
    /// <typeparam name="TOptions">The options type: a public parameterless constructor and settable properties. A property's
    /// keyword is its <see cref="System.Text.Json.Serialization.JsonPropertyNameAttribute"/> name, else its name in snake_case.</typeparam>
    /// <param name="path">The name senders use.</param>
    /// <param name="apply">Runs the control with the loop's context and the bound options.</param>
    /// <param name="validate">Checks (and may adjust) the bound options before <paramref name="apply"/>; throw to refuse them. The options it returns are what <paramref name="apply"/> gets.</param>
    /// <param name="description">A one-line description for <c>runtimectl controls</c>.</param>
    /// <param name="getValue">Returns the control's current value for <c>controller.json</c>, or <see langword="null"/>.</param>
    /// <param name="overwrite">Replace an existing control of that path instead of keeping it.</param>
    /// <param name="safeToRepeat">Whether applying the control twice does no harm (setting a value, saving a checkpoint), so a
    /// command the trainer was killed while applying is applied again on restart instead of being acked
    /// <c>failed</c> with "effect unknown".</param>
    /// <returns>This controller.</returns>
    /// <exception cref="ControlRegistrationException">The path is taken by a different handler and <paramref name="overwrite"/> is false.</exception>
    /// <remarks>Positional arguments, unknown keywords and values that do not convert give a <c>failed</c> ack. The ack
    /// echoes only the keywords the command sent (converted), never the options' defaults.</remarks>
    public RuntimeController<TContext> RegisterOptions<[DynamicallyAccessedMembers(OptionsBinder.Members)] TOptions>(string path, Action<TContext, TOptions> apply, Func<TOptions, TOptions>? validate = null, string? description = null, Func<object?>? getValue = null, bool overwrite = false, bool safeToRepeat = false)
        where TOptions : new()
    {
        ArgumentNullException.ThrowIfNull(apply);
        return Add(new OptionsControl<TContext, TOptions>(path, apply, validate, description, getValue), overwrite, safeToRepeat);
    }

    /// <summary>Registers a control that sees the command's JSON arguments as they are (the original's form).</summary>
    /// <param name="path">The name senders use.</param>
    /// <param name="apply">Runs the control with the loop's context and the (validated) arguments.</param>
    /// <param name="validate">Checks and converts the arguments before <paramref name="apply"/>; throw to refuse them. The
    /// arguments it returns (see <see cref="ControlArguments.WithArgs"/>) are what <paramref name="apply"/> gets and the ack echoes.</param>
    /// <param name="description">A one-line description for <c>runtimectl controls</c>.</param>
    /// <param name="getValue">Returns the control's current value for <c>controller.json</c>, or <see langword="null"/>.</param>
    /// <param name="parameters">The parameters to list in <c>controller.json</c>, or <see langword="null"/> for "any".</param>
    /// <param name="overwrite">Replace an existing control of that path instead of keeping it.</param>
    /// <param name="safeToRepeat">Whether applying the control twice does no harm (setting a value, saving a checkpoint), so a
    /// command the trainer was killed while applying is applied again on restart instead of being acked
    /// <c>failed</c> with "effect unknown".</param>
    /// <returns>This controller.</returns>
    /// <exception cref="ControlRegistrationException">The path is taken by a different handler and <paramref name="overwrite"/> is false.</exception>
    public RuntimeController<TContext> Register(string path, Action<TContext, ControlArguments> apply, Func<ControlArguments, ControlArguments>? validate = null, string? description = null, Func<object?>? getValue = null, IReadOnlyList<ControlParameter>? parameters = null, bool overwrite = false, bool safeToRepeat = false)
    {
        ArgumentNullException.ThrowIfNull(apply);
        return Add(new RawControl<TContext>(path, apply, validate, description, getValue, parameters), overwrite, safeToRepeat);
    }

    private RuntimeController<TContext> Add(Control<TContext> control, bool overwrite, bool safeToRepeat)
    {
        var path = control.Path;
        if (string.IsNullOrWhiteSpace(path) || path != path.Trim())
        {
            throw new ControlRegistrationException(path ?? string.Empty, $"A control's path must be a non-empty name without surrounding spaces, got '{path}'. Use a dotted name such as 'optimizer.lr.multiplier'.");
        }

        if (!overwrite && _controls.TryGetValue(path, out var existing))
        {
            if (existing.Handler.Equals(control.Handler))
            {
                return this; // the same handler (method and target) again is a no-op
            }

            throw new ControlRegistrationException(path, $"The control '{path}' is already registered with another handler. Pass overwrite: true to replace it, or register it once.");
        }

        control.SafeToRepeat = safeToRepeat;
        _controls[path] = control;
        return this;
    }
}
