using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchSharpTraining;

/// <summary>
/// The sample's model: a character-level language model in the style of Bengio et al. (2003). The last
/// <c>context</c> characters are embedded, concatenated and passed through two ReLU layers, each followed by a
/// dropout module (<c>drop1</c>, <c>drop2</c>); the output is one logit per character of the vocabulary.
/// </summary>
internal static class CharModel
{
    /// <summary>Builds the model; its input is <c>[batch, context]</c> character codes, its output <c>[batch, vocabulary]</c> logits.</summary>
    public static Sequential Create(int vocabulary, int context, int embedding, int hidden, double dropout) =>
        nn.Sequential(
            ("embed", nn.Embedding(vocabulary, embedding)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(context * embedding, hidden)),
            ("relu1", nn.ReLU()),
            ("drop1", nn.Dropout(dropout)),
            ("fc2", nn.Linear(hidden, hidden)),
            ("relu2", nn.ReLU()),
            ("drop2", nn.Dropout(dropout)),
            ("out", nn.Linear(hidden, vocabulary)));
}
