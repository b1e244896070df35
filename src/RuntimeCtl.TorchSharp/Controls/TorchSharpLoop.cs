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
///     if (!loop.WaitWhilePaused(rt, loop, cancellationToken: ct)) break;  // blocks while paused; false once stopped
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
    /// Returns at once unless the loop is paused; while it is, polls <paramref name="controller"/> every
    /// <see cref="TorchSharpControlsOptions.PausePollInterval"/> (by time, with the current <see cref="Step"/>, so
    /// <c>train.resume</c>, <c>train.stop</c> and any other command are applied and acked) until it is resumed or
    /// stopped, or <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <typeparam name="TContext">The controller's context type.</typeparam>
    /// <param name="controller">The controller the controls were registered on.</param>
    /// <param name="context">What the controls receive first.</param>
    /// <param name="onAck">Receives each ack written by the polls while paused (e.g. to print them), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Ends the wait early, e.g. on Ctrl-C.</param>
    /// <returns><see langword="true"/> when the loop should go on; <see langword="false"/> once <c>train.stop</c> was applied or the token was cancelled.</returns>
    /// <exception cref="ArgumentException">The controls of this loop were registered on another controller.</exception>
    /// <remarks>
    /// Call it right after the poll of each step. It polls by time because the step does not advance while paused,
    /// so a step-based poll would never be due. With several ranks every rank waits and polls in step.
    /// </remarks>
    public bool WaitWhilePaused<TContext>(RuntimeController<TContext> controller, TContext context, Action<Ack>? onAck = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(controller);
        if (_controller is not null && !ReferenceEquals(_controller, controller))
        {
            throw new ArgumentException("This TorchSharpLoop's controls were registered on another RuntimeController; pass that controller.", nameof(controller));
        }

        while (IsPaused && !StopRequested && !cancellationToken.IsCancellationRequested)
        {
            Task.Delay(_options.PausePollInterval, controller.TimeProvider, cancellationToken)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing)
                .GetAwaiter()
                .GetResult();
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            foreach (var ack in controller.PollAndApply(context, TimeSpan.Zero, Step))
            {
                onAck?.Invoke(ack);
            }
        }

        return !StopRequested && !cancellationToken.IsCancellationRequested;
    }

    /// <summary>Binds the loop to the controller its controls go on, with the settings <see cref="WaitWhilePaused{TContext}"/> uses.</summary>
    internal void Attach(object controller, TorchSharpControlsOptions options)
    {
        _controller = controller;
        _options = options;
    }

    /// <summary>Gets whether the loop's controls are on another controller than <paramref name="controller"/>.</summary>
    internal bool IsAttachedElsewhere(object controller) => _controller is not null && !ReferenceEquals(_controller, controller);

    internal bool IsAttachedTo(object controller) => ReferenceEquals(_controller, controller);

    internal void AddSaved(TorchSharpCheckpointInfo checkpoint) => _saved.Add(checkpoint);
}
