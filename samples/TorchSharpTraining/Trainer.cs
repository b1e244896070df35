using RuntimeCtl;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchSharpTraining;

/// <summary>An MLP with dropout, trained with AdamW on <see cref="SyntheticRegression"/>: one call, one optimizer step.</summary>
internal sealed class Trainer : IDisposable
{
    private const int BatchSize = 128;
    private const int Hidden = 128;

    private readonly SyntheticRegression _data;
    private readonly MSELoss _loss = nn.MSELoss();

    public Trainer(int seed)
    {
        manual_seed(seed);
        _data = new SyntheticRegression(samples: 8192, seed);
        Model = nn.Sequential(
            ("fc1", nn.Linear(SyntheticRegression.Features, Hidden)),
            ("relu1", nn.ReLU()),
            ("drop1", nn.Dropout(0.1)),
            ("fc2", nn.Linear(Hidden, Hidden)),
            ("relu2", nn.ReLU()),
            ("drop2", nn.Dropout(0.1)),
            ("out", nn.Linear(Hidden, 1)));
        Model.train();
        Optimizer = optim.AdamW(Model.parameters(), lr: 1e-3, weight_decay: 0.01);
    }

    /// <summary>Gets the model; its dropout modules are named <c>drop1</c> and <c>drop2</c>.</summary>
    public Sequential Model { get; }

    /// <summary>Gets the optimizer.</summary>
    public AdamW Optimizer { get; }

    /// <summary>Gets the gradient-norm limit applied before every optimizer step (off until set).</summary>
    public GradientClipNorm GradientClip { get; } = new();

    /// <summary>Gets the learning rate of the first parameter group.</summary>
    public double LearningRate => Optimizer.ParamGroups.First().LearningRate;

    /// <summary>Runs one optimizer step on a fresh mini-batch and returns its loss.</summary>
    public double Step()
    {
        using var scope = NewDisposeScope();
        var (inputs, targets) = _data.Sample(BatchSize);
        Optimizer.zero_grad();
        var loss = _loss.forward(Model.forward(inputs), targets);
        loss.backward();
        GradientClip.Apply(Model.parameters());  // train.grad_clip_norm changes the limit
        Optimizer.step();
        return loss.item<float>();
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
        _loss.Dispose();
        _data.Dispose();
    }
}
