using System.Globalization;
using System.Text.Json;
using TorchSharp.Modules;

namespace RuntimeCtl;

/// <summary>Mirrors a controller's reports and acks into a TensorBoard event file, next to the loss curve they changed.</summary>
public static class TensorBoardMirror
{
    /// <summary>
    /// Writes every value passed to <see cref="RuntimeController{TContext}.Report"/> as a scalar (its name as the tag)
    /// and every ack as a text entry tagged <c>runtimectl/&lt;path&gt;</c> at its step (path, arguments, outcome, error)
    /// into <paramref name="writer"/>, which the caller owns and disposes.
    /// </summary>
    /// <typeparam name="TContext">The controller's context.</typeparam>
    /// <param name="controller">The controller to mirror.</param>
    /// <param name="writer">A TorchSharp <c>SummaryWriter</c> (<c>torch.utils.tensorboard.SummaryWriter(dir)</c>).</param>
    /// <returns>A registration; dispose it to stop mirroring.</returns>
    /// <remarks>An ack without a step (time-based polling) is written at step 0. A write that throws is reported through the controller's diagnostics, never into the loop.</remarks>
    public static IDisposable MirrorToTensorBoard<TContext>(this RuntimeController<TContext> controller, SummaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(writer);
        return controller.Observe(
            ack => writer.add_text("runtimectl/" + (string.IsNullOrEmpty(ack.Path) ? "(none)" : ack.Path), Describe(ack), Step(ack.Step)),
            (step, name, value) => writer.add_scalar(name, (float)value, Step(step)));
    }

    /// <summary>The text of an ack: <c>optimizer.lr [0.0005] {} → applied</c>, or <c>… → failed: the error</c>.</summary>
    internal static string Describe(Ack ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        var arguments = string.Join(' ', new[] { Text(ack.Args), Text(ack.Kwargs) }.Where(t => t.Length > 0));
        var outcome = ack.Status switch
        {
            AckStatus.Applied => "applied",
            AckStatus.Rejected => "rejected: " + ack.Error,
            _ => "failed: " + ack.Error,
        };
        return string.Create(CultureInfo.InvariantCulture, $"{ack.Path} {arguments} → {outcome} (step {ack.Step?.ToString(CultureInfo.InvariantCulture) ?? "none"}, id {ack.Id})").Replace("  ", " ", StringComparison.Ordinal);
    }

    private static string Text(JsonElement? value) => value is { } v ? v.GetRawText() : string.Empty;

    private static int Step(long? step) => (int)Math.Clamp(step ?? 0, 0, int.MaxValue);
}
