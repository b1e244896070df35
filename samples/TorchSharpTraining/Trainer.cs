using System.Reflection;
using RuntimeCtl.TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchSharpTraining;

/// <summary>
/// <see cref="CharModel"/> trained with AdamW on the <see cref="CharCorpus"/> of the project's own text: one
/// <see cref="Step"/>, one optimizer step on a fresh mini-batch; <see cref="Evaluate"/> scores the held-out windows.
/// </summary>
internal sealed class Trainer : IDisposable
{
    private const int Context = 32;
    private const int Embedding = 24;
    private const int Hidden = 384;
    private const int BatchSize = 64;
    private const int ValidationWindows = 1024;

    private readonly CharCorpus _corpus;
    private readonly long[] _batch = new long[BatchSize * (Context + 1)];
    private readonly Tensor _validation;
    private readonly CrossEntropyLoss _loss = nn.CrossEntropyLoss();

    public Trainer(int seed)
    {
        manual_seed(seed);
        _corpus = new CharCorpus(CharCorpus.LoadEmbedded(Assembly.GetExecutingAssembly()), Context, seed);
        var validation = _corpus.Validation(ValidationWindows);
        _validation = tensor(validation, [validation.Length / (Context + 1), Context + 1]);
        Model = CharModel.Create(_corpus.Vocabulary.Count, Context, Embedding, Hidden, dropout: 0.1);
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

    /// <summary>Runs one optimizer step on a fresh mini-batch and returns its loss (in nats per character).</summary>
    public double Step()
    {
        using var scope = NewDisposeScope();
        _corpus.SampleTraining(_batch);
        var windows = tensor(_batch, [BatchSize, Context + 1]);
        Optimizer.zero_grad();
        var loss = _loss.forward(Model.forward(windows[.., ..^1]), windows[.., ^1]);
        loss.backward();
        GradientClip.Apply(Model.parameters());  // train.grad_clip_norm changes the limit
        Optimizer.step();
        return loss.item<float>();
    }

    /// <summary>
    /// Scores the fixed validation windows with dropout off and without gradients; it draws no random numbers,
    /// so evaluating does not change the training run.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Model.eval();
        try
        {
            var logits = Model.forward(_validation[.., ..^1]);
            var targets = _validation[.., ^1];
            var loss = _loss.forward(logits, targets).item<float>();
            var accuracy = logits.argmax(1).eq(targets).to(ScalarType.Float32).mean().item<float>();
            return (loss, accuracy);
        }
        finally
        {
            Model.train();
        }
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
        _loss.Dispose();
        _validation.Dispose();
    }
}
