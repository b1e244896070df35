using RuntimeCtl.TorchSharp;

namespace RuntimeCtl;

/// <summary>Registers the standard TorchSharp controls on a <see cref="RuntimeController{TContext}"/>.</summary>
public static class TorchSharpControllerExtensions
{
    /// <summary>
    /// Registers the standard controls of a TorchSharp training loop, each with validation, a description and its
    /// current value for <c>runtimectl controls</c> and <c>controller.json</c>.
    /// </summary>
    /// <typeparam name="TContext">The controller's context type; the controls act on <paramref name="loop"/> and ignore the context.</typeparam>
    /// <param name="controller">The controller.</param>
    /// <param name="loop">The model, optimizer, gradient limit and loop state the controls act on.</param>
    /// <param name="options">The settings, or <see langword="null"/> for the defaults.</param>
    /// <returns>The controller.</returns>
    /// <exception cref="ArgumentException">An option is out of range (every problem is listed), or <paramref name="loop"/> is registered on another controller.</exception>
    /// <exception cref="ControlRegistrationException">The controller already has a control at one of the paths; nothing was registered.</exception>
    /// <remarks>
    /// <list type="table">
    /// <listheader><term>path</term><description>what it does</description></listheader>
    /// <item><term><c>optimizer.lr X</c></term><description>Sets the learning rate of every parameter group; X ≥ 0 (0 freezes the parameters).</description></item>
    /// <item><term><c>optimizer.lr.multiplier F</c></term><description>Multiplies the learning rate of every group; F &gt; 0.</description></item>
    /// <item><term><c>optimizer.weight_decay W</c></term><description>Sets the weight decay of every group; W ≥ 0. Only for optimizers that have one.</description></item>
    /// <item><term><c>optimizer.momentum M</c></term><description>Sets the momentum of every group; 0 ≤ M &lt; 1. Only for SGD and RMSprop.</description></item>
    /// <item><term><c>optimizer.betas B1 B2</c></term><description>Sets both betas of every group; each in [0, 1). Only for the Adam family.</description></item>
    /// <item><term><c>model.dropout.p P</c></term><description>Sets p of every dropout module, or with the keyword <c>module</c> of the one of that name; 0 ≤ P &lt; 1. Only when the model has dropout.</description></item>
    /// <item><term><c>train.grad_clip_norm N</c></term><description>Sets the limit <see cref="TorchSharpLoop.ClipGradients"/> applies; <c>null</c> or <c>0</c> turns clipping off.</description></item>
    /// <item><term><c>save_ckpt</c></term><description>Saves model, optimizer, <see cref="TorchSharpLoop.Step"/> and <see cref="RuntimeController{TContext}.CommandPosition"/> into <c>&lt;checkpoint root&gt;/&lt;label or step-N&gt;/</c> (keyword <c>label</c>, a plain name); an existing checkpoint of that name is replaced. Rank 0 writes it.</description></item>
    /// <item><term><c>load_ckpt</c></term><description>Loads the checkpoint named by the keyword <c>label</c> (under the root) or <c>path</c> (absolute) after checking that it fits the model and optimizer (refused untouched otherwise), and sets <see cref="TorchSharpLoop.Step"/> to its step. Every rank loads.</description></item>
    /// <item><term><c>train.pause</c>, <c>train.resume</c></term><description>Pause and resume the loop; see <see cref="TorchSharpLoop.WaitWhilePaused{TContext}"/>.</description></item>
    /// <item><term><c>train.stop</c></term><description>Ends the loop before its next step; with the keyword <c>save: true</c> (and an optional <c>label</c>) it saves a checkpoint first, and stays running if that save fails.</description></item>
    /// </list>
    /// <para>
    /// Learning-rate schedulers: a commanded rate replaces the current rate of every group, and schedulers that
    /// multiply the current rate at their steps (<c>StepLR</c>, <c>MultiStepLR</c>, <c>ExponentialLR</c>,
    /// <c>MultiplicativeLR</c>) continue from it: the commanded rate is the new base their later steps multiply.
    /// With <c>StepLR(step_size: 10, gamma: 0.1)</c>, <c>optimizer.lr 0.05</c> at epoch 13 gives 0.05 until epoch 19
    /// and 0.005 from epoch 20. Schedulers that compute the rate from the initial rate (<c>LambdaLR</c>,
    /// <c>OneCycleLR</c>, <c>CosineAnnealingLR</c>, and any <c>step(epoch)</c> call) overwrite it at their next step.
    /// <c>load_ckpt</c> restores the saved rates but not the scheduler's own position.
    /// </para>
    /// <para>
    /// Current values: a hyperparameter is one number when every parameter group has the same value, else a list in
    /// group order; <c>model.dropout.p</c> is one number when every dropout module agrees, else an object by module
    /// name; <c>save_ckpt</c> and <c>load_ckpt</c> show the last checkpoint directory, the <c>train.*</c> controls
    /// whether the loop is paused or asked to stop.
    /// </para>
    /// <para>
    /// Registering the same loop on the same controller again does nothing. Call it on the training thread, before
    /// the first poll.
    /// </para>
    /// </remarks>
    public static RuntimeController<TContext> AddTorchSharpControls<TContext>(this RuntimeController<TContext> controller, TorchSharpLoop loop, TorchSharpControlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(loop);
        var settings = (options ?? new TorchSharpControlsOptions()).Validated();
        var controls = new StandardControls(loop, settings, () => controller.QueueDirectory, () => controller.CommandPosition, () => controller.Rank, () => controller.ProcessGroup);
        if (loop.IsAttachedTo(controller))
        {
            return controller;
        }

        if (loop.IsAttachedElsewhere(controller))
        {
            throw new ArgumentException(
                "This TorchSharpLoop already has its controls on another RuntimeController; one loop is steered by one controller. Create a TorchSharpLoop per controller.",
                nameof(loop));
        }

        var taken = controls.Paths.Where(controller.ControlPaths.Contains).ToList();
        if (taken.Count > 0)
        {
            throw new ControlRegistrationException(
                taken[0],
                $"The controller already has controls at {string.Join(", ", taken.Select(p => $"'{p}'"))}, so the standard TorchSharp controls were not registered. Register your own under other paths, or leave these to AddTorchSharpControls.");
        }

        loop.Attach(controller, settings);
        if (controls.HasGroups)
        {
            controller.Register<double>(
                StandardControls.LearningRate,
                (_, lr) => controls.SetLearningRate(lr),
                StandardControls.ValidateLearningRate,
                "Set the learning rate of every parameter group (>= 0); a scheduler's later steps multiply it.",
                controls.LearningRateValue,
                safeToRepeat: true);
            controller.Register<double>(
                StandardControls.LearningRateMultiplier,
                (_, factor) => controls.MultiplyLearningRate(factor),
                StandardControls.ValidateMultiplier,
                "Multiply the learning rate of every parameter group (> 0). The value is the current learning rate.",
                controls.LearningRateValue);
        }

        if (controls.HasWeightDecay)
        {
            controller.Register<double>(
                StandardControls.WeightDecay,
                (_, weight_decay) => controls.SetWeightDecay(weight_decay),
                StandardControls.ValidateWeightDecay,
                "Set the weight decay of every parameter group (>= 0).",
                controls.WeightDecayValue,
                safeToRepeat: true);
        }

        if (controls.HasMomentum)
        {
            controller.Register<double>(
                StandardControls.Momentum,
                (_, momentum) => controls.SetMomentum(momentum),
                controls.ValidateMomentum,
                "Set the momentum of every parameter group (0 <= m < 1).",
                controls.MomentumValue,
                safeToRepeat: true);
        }

        if (controls.HasBetas)
        {
            controller.Register<double, double>(
                StandardControls.Betas,
                (_, beta1, beta2) => controls.SetBetas(beta1, beta2),
                StandardControls.ValidateBetas,
                "Set beta1 and beta2 of every parameter group (each 0 <= b < 1).",
                controls.BetasValue,
                safeToRepeat: true);
        }

        if (controls.HasDropout)
        {
            controller.Register(
                StandardControls.Dropout,
                (_, arguments) => controls.SetDropout(arguments),
                controls.ValidateDropout,
                "Set p of every dropout module, or with the keyword 'module' of the one of that name (0 <= p < 1).",
                controls.DropoutValue,
                StandardControls.DropoutParameters,
                safeToRepeat: true);
        }

        controller.Register<double?>(
            StandardControls.GradClipNorm,
            (_, max_norm) => controls.SetClipNorm(max_norm),
            StandardControls.ValidateClipNorm,
            "Clip the gradients' total 2-norm to this value before each optimizer step; null or 0 turns clipping off.",
            controls.ClipNormValue,
            safeToRepeat: true);
        controller.RegisterOptions<SaveCheckpointArguments>(
            StandardControls.SaveCheckpoint,
            (_, arguments) => controls.Save(arguments.Label),
            StandardControls.ValidateSave,
            "Save model, optimizer, step and command position to <checkpoint root>/<label or step-N>/. The value is the last checkpoint saved.",
            controls.LastSavedValue,
            safeToRepeat: true);
        controller.RegisterOptions<LoadCheckpointArguments>(
            StandardControls.LoadCheckpoint,
            (_, arguments) => controls.Load(arguments),
            StandardControls.ValidateLoad,
            "Load a checkpoint by 'label' (under the checkpoint root) or absolute 'path'; one of another architecture is refused untouched.",
            controls.LastLoadedValue,
            safeToRepeat: true);
        controller.Register(
            StandardControls.Pause,
            _ => loop.IsPaused = true,
            "Pause before the next step; the loop keeps polling for train.resume and train.stop. The value is whether it is paused.",
            controls.PausedValue,
            safeToRepeat: true);
        controller.Register(
            StandardControls.Resume,
            _ => loop.IsPaused = false,
            "Resume a paused loop. The value is whether it is paused.",
            controls.PausedValue,
            safeToRepeat: true);
        controller.RegisterOptions<StopArguments>(
            StandardControls.Stop,
            (_, arguments) => controls.RequestStop(arguments),
            StandardControls.ValidateStop,
            "Stop the loop before its next step; with \"save\": true save a checkpoint first (optional 'label').",
            controls.StopValue,
            safeToRepeat: true);
        return controller;
    }
}
