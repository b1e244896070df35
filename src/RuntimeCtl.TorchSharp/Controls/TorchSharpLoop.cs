using TorchSharp.Modules;
using Module = TorchSharp.torch.nn.Module;

namespace RuntimeCtl.TorchSharp;

/// <summary>
/// The state of one TorchSharp training loop that the standard controls act on: the model, its optimizer, the
/// gradient-norm limit, the step, and whether a command paused or stopped the loop.
/// </summary>
/// <remarks>
/// <para>
/// Register the controls with <see cref="TorchSharpControllerExtensions.AddTorchSharpControls{TContext}"/>, then let
/// the loop poll before every step, wait while paused, and leave when stopped:
/// </para>
/// <code>
/// for (; loop.Step &lt; steps; loop.Step++)
/// {
///     rt.PollAndApply(loop, loop.Step);                  // poll by step: acks carry the step
///     if (!loop.WaitWhilePaused(loop, cancellationToken: ct)) break;  // blocks while paused; false once stopped
///     // forward, backward, loop.ClipGradients(), optimizer.step()
/// }
/// </code>
/// <para>
/// <see cref="Step"/> counts completed optimizer steps: <c>save_ckpt</c> records it (and names an unlabelled
/// checkpoint <c>step-N</c>), and <c>load_ckpt</c> sets it back to the checkpoint's step, so a loop that reads it
/// as above continues from there. Not thread-safe: use it on the training thread.
/// </para>
/// </remarks>
public sealed class TorchSharpLoop
{
    private static readonly TorchSharpControlsOptions DefaultOptions = new TorchSharpControlsOptions().Validated();

    private readonly List<TorchSharpCheckpointInfo> _saved = [];
    private TorchSharpControlsOptions _options = DefaultOptions;
    private object? _controller;
    private long _step;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="model">The model; its dropout modules are what <c>model.dropout.p</c> changes.</param>
    /// <param name="optimizer">The model's optimizer; which hyperparameter controls exist depends on its type.</param>
    /// <param name="gradientClip">The limit <see cref="ClipGradients"/> applies, or <see langword="null"/> for a new one with clipping off.</param>
    public TorchSharpLoop(Module model, OptimizerHelper optimizer, GradientClipNorm? gradientClip = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        Model = model;
        Optimizer = optimizer;
        GradientClip = gradientClip ?? new GradientClipNorm();
    }

    /// <summary>Gets the model.</summary>
    public Module Model { get; }

    /// <summary>Gets the optimizer.</summary>
    public OptimizerHelper Optimizer { get; }

    /// <summary>Gets the gradient-norm limit that <c>train.grad_clip_norm</c> sets and <see cref="ClipGradients"/> applies.</summary>
    public GradientClipNorm GradientClip { get; }

    /// <summary>Gets or sets the number of completed optimizer steps. <c>load_ckpt</c> sets it to the checkpoint's step.</summary>
    /// <value>The default is 0.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long Step
    {
        get => _step;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _step = value;
        }
    }

    /// <summary>Gets whether <c>train.pause</c> paused the loop (until <c>train.resume</c>).</summary>
    public bool IsPaused { get; internal set; }

    /// <summary>Gets whether <c>train.stop</c> asked the loop to end.</summary>
    public bool StopRequested { get; internal set; }

    /// <summary>Gets the checkpoints saved by <c>save_ckpt</c> and <c>train.stop</c>, oldest first (on rank 0; empty on other ranks).</summary>
    public IReadOnlyList<TorchSharpCheckpointInfo> SavedCheckpoints => _saved;

    /// <summary>Gets the checkpoint most recently loaded by <c>load_ckpt</c>, or <see langword="null"/>.</summary>
    public TorchSharpCheckpointInfo? LoadedCheckpoint { get; internal set; }

    /// <summary>
    /// Clips the gradients of the model's parameters to <see cref="GradientClip"/>. Call it between
    /// <c>loss.backward()</c> and <c>optimizer.step()</c>.
    /// </summary>
    /// <returns>The total gradient norm before clipping, or <see langword="null"/> when clipping is off.</returns>
    public double? ClipGradients() => GradientClip.Apply(Model.parameters());

    /// <summary>
    /// Returns at once unless the loop is paused; while it is, polls the controller its controls are on every
    /// <see cref="TorchSharpControlsOptions.PausePollInterval"/> of that controller's clock (by time, with the current
    /// <see cref="Step"/>, so <c>train.resume</c>, <c>train.stop</c> and any other command are applied and acked) until
    /// it is resumed or stopped, or <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <typeparam name="TContext">The context type of the controller the controls were registered on.</typeparam>
    /// <param name="context">What the controls receive first: the context the loop polls that controller with.</param>
    /// <param name="onAck">Receives each ack written by the polls while paused (e.g. to print them), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Ends the wait early, e.g. on Ctrl-C; a cancellation wakes the wait at once.</param>
    /// <returns><see langword="true"/> when the loop should go on; <see langword="false"/> once <c>train.stop</c> was applied or the token was cancelled.</returns>
    /// <exception cref="ArgumentException">The controls of this loop are on a controller of another context type than <typeparamref name="TContext"/>.</exception>
    /// <remarks>
    /// Call it right after the poll of each step. It polls by time because the step does not advance while paused,
    /// so a step-based poll would never be due. The waits between polls are timers of
    /// <see cref="RuntimeController{TContext}.TimeProvider"/>, so a fake clock on the controller's options drives them
    /// in tests. With several ranks every rank waits and polls in step.
    /// </remarks>
    public bool WaitWhilePaused<TContext>(TContext context, Action<Ack>? onAck = null, CancellationToken cancellationToken = default)
    {
        if (_controller is not null and not RuntimeController<TContext>)
        {
            var polled = _controller.GetType().GetGenericArguments()[0].Name;
            throw new ArgumentException(
                $"This TorchSharpLoop's controls are on a RuntimeController<{polled}>, but WaitWhilePaused was called with a {typeof(TContext).Name} context. Pass the context that controller polls with, naming its type if the argument's type differs: loop.WaitWhilePaused<{polled}>(context).",
                nameof(context));
        }

        // Only the controls pause the loop, so a paused loop has a controller.
        var controller = (RuntimeController<TContext>?)_controller;
        while (IsPaused && !StopRequested && controller is not null && WaitForNextPoll(controller.TimeProvider, cancellationToken))
        {
            foreach (var ack in controller.PollAndApply(context, TimeSpan.Zero, Step))
            {
                onAck?.Invoke(ack);
            }
        }

        return !StopRequested && !cancellationToken.IsCancellationRequested;
    }

    /// <summary>Binds the loop to the controller its controls go on (which <see cref="WaitWhilePaused{TContext}"/> polls), with the settings it uses.</summary>
    internal void Attach(object controller, TorchSharpControlsOptions options)
    {
        _controller = controller;
        _options = options;
    }

    /// <summary>Gets whether the loop's controls are on another controller than <paramref name="controller"/>.</summary>
    internal bool IsAttachedElsewhere(object controller) => _controller is not null && !ReferenceEquals(_controller, controller);

    internal bool IsAttachedTo(object controller) => ReferenceEquals(_controller, controller);

    internal void AddSaved(TorchSharpCheckpointInfo checkpoint) => _saved.Add(checkpoint);

    /// <summary>
    /// Blocks for one <see cref="TorchSharpControlsOptions.PausePollInterval"/> of <paramref name="time"/>, or until
    /// <paramref name="cancellationToken"/> is cancelled; returns whether the wait ran its course.
    /// </summary>
    private bool WaitForNextPoll(TimeProvider time, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        // A paused loop has nothing to do until the next poll, so the training thread blocks on purpose, on a timer of
        // the controller's clock rather than a sleep: a fake clock drives it, and a cancellation ends it at once.
        var wake = new TaskCompletionSource();
        using (time.CreateTimer(static state => ((TaskCompletionSource)state!).TrySetResult(), wake, _options.PausePollInterval, Timeout.InfiniteTimeSpan))
        using (cancellationToken.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetResult(), wake))
        {
            wake.Task.Wait(CancellationToken.None); // the registration above wakes it on cancellation, without an exception
        }

        return !cancellationToken.IsCancellationRequested;
    }
}
