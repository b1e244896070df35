using System.Text.Json;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RuntimeCtl.TorchSharp.Tests.Support;

/// <summary>
/// A small real model and optimizer with the standard controls on a real <see cref="RuntimeController{TContext}"/>
/// over a temporary queue directory: commands go in through <see cref="CommandSender"/>, acks come back from the poll.
/// </summary>
internal sealed class SteeredLoop : IDisposable
{
    private readonly TempDirectory _temp = new();

    public SteeredLoop(Func<Sequential, OptimizerHelper>? optimizer = null, bool dropout = true, TorchSharpControlsOptions? options = null, int hidden = 8, RuntimeControllerOptions? controllerOptions = null)
    {
        manual_seed(3);
        Model = dropout
            ? nn.Sequential(("fc1", nn.Linear(4, hidden)), ("drop1", nn.Dropout(0.1)), ("fc2", nn.Linear(hidden, 1)), ("drop2", nn.Dropout(0.1)))
            : nn.Sequential(("fc1", nn.Linear(4, hidden)), ("fc2", nn.Linear(hidden, 1)));
        Model.train();
        Optimizer = optimizer?.Invoke(Model) ?? optim.AdamW(Model.parameters(), lr: 0.01, weight_decay: 0.05);
        Loop = new TorchSharpLoop(Model, Optimizer);
        Controller = new RuntimeController<TorchSharpLoop>(controllerOptions);
        Controller.AddTorchSharpControls(Loop, options);
        Controller.Configure(QueueDirectory);
        using var generator = new Generator(11);
        Inputs = randn(64, 4, generator: generator);
        Targets = randn(64, 1, generator: generator);
    }

    public string QueueDirectory => _temp.Combine("queue");

    public string CheckpointRoot => Path.Combine(QueueDirectory, "checkpoints");

    public Sequential Model { get; }

    public OptimizerHelper Optimizer { get; }

    public TorchSharpLoop Loop { get; }

    public RuntimeController<TorchSharpLoop> Controller { get; }

    public Tensor Inputs { get; }

    public Tensor Targets { get; }

    public string Combine(params string[] parts) => _temp.Combine(parts);

    /// <summary>Queues one command, polls at the loop's step, and returns its ack.</summary>
    public Ack Send(string path, object?[]? args = null, Dictionary<string, object?>? kwargs = null)
    {
        CommandSender.Enqueue(QueueDirectory, path, args, kwargs);
        return Assert.Single(Controller.PollAndApply(Loop, TimeSpan.Zero, Loop.Step));
    }

    /// <summary>Like <see cref="Send"/>, and asserts that the command was applied.</summary>
    public Ack Apply(string path, object?[]? args = null, Dictionary<string, object?>? kwargs = null)
    {
        var ack = Send(path, args, kwargs);
        Assert.True(ack.Status == AckStatus.Applied, ack.ToString());
        return ack;
    }

    /// <summary>Runs one training step on the fixed batch (with dropout active) and counts it.</summary>
    public void Train()
    {
        using var scope = NewDisposeScope();
        Optimizer.zero_grad();
        var loss = nn.functional.mse_loss(Model.forward(Inputs), Targets);
        loss.backward();
        Loop.ClipGradients();
        Optimizer.step();
        Loop.Step++;
    }

    /// <summary>Reads the last line of acks.jsonl.</summary>
    public JsonElement LastAckLine()
    {
        var lines = File.ReadAllLines(Path.Combine(QueueDirectory, "acks.jsonl"));
        using var document = JsonDocument.Parse(lines[^1]);
        return document.RootElement.Clone();
    }

    /// <summary>Reads the control of <paramref name="path"/> from controller.json, or null when it is not listed.</summary>
    public JsonElement? ControlEntry(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(QueueDirectory, "controller.json")));
        foreach (var control in document.RootElement.GetProperty("controls").EnumerateArray())
        {
            if (control.GetProperty("path").GetString() == path)
            {
                return control.Clone();
            }
        }

        return null;
    }

    public void Dispose()
    {
        Controller.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
        Inputs.Dispose();
        Targets.Dispose();
        _temp.Dispose();
    }
}
